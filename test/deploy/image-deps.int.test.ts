import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../core/local-redis.ts';
import { deletePrefix, http, pollUntilDone, redisUrl, TINY_MODEL } from '../support/stack.ts';
import { repo, run } from './tools.ts';

/**
 * The image's /app without Docker: the Dockerfile's own dependency script (read from the
 * Dockerfile, run by sh as the build would), the build output and package.json. Then the
 * roles start from it, so a dependency the image drops but the code needs shows up here.
 */
describe('the application layout of the Docker image', () => {
  let app: string;
  const processes: ChildProcess[] = [];
  const prefix = `t-img-${randomUUID().slice(0, 8)}`;

  beforeAll(() => {
    app = mkdtempSync(path.join(os.tmpdir(), 'llmo-image-'));
    copyFileSync(repo('package.json'), path.join(app, 'package.json'));
    copyFileSync(repo('package-lock.json'), path.join(app, 'package-lock.json'));
    const dockerfile = readFileSync(repo('Dockerfile'), 'utf8');
    const script = /^RUN --mount=type=cache,target=\/root\/\.npm <<'SH'\n([\s\S]*?)\nSH$/m.exec(dockerfile)?.[1];
    if (!script) throw new Error("no RUN <<'SH' dependency script in the Dockerfile");
    const deps = run('sh', ['-c', script], { cwd: app, env: { ...process.env, npm_config_loglevel: 'error' } });
    if (deps.status !== 0) throw new Error(`the Dockerfile's dependency script failed:\n${deps.stdout}\n${deps.stderr}`);
    const build = run('npm', ['run', 'build'], { cwd: repo() });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
    cpSync(repo('dist'), path.join(app, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
  }, 300_000);

  afterAll(async () => {
    for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL');
    const redis = new Redis(redisUrl());
    await deletePrefix(redis, prefix);
    await redis.quit();
    rmSync(app, { recursive: true, force: true });
  });

  it('keeps only the linux-x64 llama.cpp binary package', () => {
    expect(readdirSync(path.join(app, 'node_modules', '@node-llama-cpp'))).toEqual(['linux-x64']);
    const installed = JSON.parse(readFileSync(path.join(app, 'node_modules', '@node-llama-cpp', 'linux-x64', 'package.json'), 'utf8'));
    const locked = JSON.parse(readFileSync(repo('package-lock.json'), 'utf8')).packages['node_modules/@node-llama-cpp/linux-x64'];
    expect(installed.version).toBe(locked.version);
  });

  it('holds production dependencies only', () => {
    for (const dev of ['typescript', 'vitest', 'eslint', 'openai', 'playwright-core', '@cdktf/hcl2json']) {
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(path.join(app, 'node_modules', 'node-llama-cpp'))).toBe(true);
    const size = run('du', ['-sm', path.join(app, 'node_modules')]).stdout.split('\t')[0];
    console.info(`image node_modules: ${size} MB`);
  });

  it('runs a job through the api and worker started from it', async () => {
    const port = await freePort();
    // The image creates /models for the non-root user; here it is a directory of the layout.
    mkdirSync(path.join(app, 'models'), { recursive: true });
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      MODEL: TINY_MODEL,
      MODELS_DIR: path.join(app, 'models'),
      CONTEXT_SIZE: '512',
      LLAMA_THREADS: '1',
      WORKER_METRICS_PORT: '0',
      PORT: String(port),
    };
    const start = (role: string, ready: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [`dist/${role}/main.js`], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
        processes.push(child);
        let output = '';
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes(ready)) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`${role} exited (${code}):\n${output.slice(-2000)}`)));
      });
    await Promise.all([start('worker', 'worker ready'), start('api', 'api listening')]);

    const base = `http://127.0.0.1:${port}`;
    const submitted = await http(base, 'POST', '/api/v1/jobs', { prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
    expect(submitted.status).toBe(202);
    const done = await pollUntilDone(base, submitted.body.id, 60_000);
    expect(done.status).toBe('completed');
    for (const child of processes) child.kill('SIGTERM');
  }, 120_000);
});
