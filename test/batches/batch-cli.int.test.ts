/**
 * `npm run batch` end to end: the real command, in its own process, against a real stack (API and
 * worker on the tiny model, a real Redis, FILES_DIR in a temp dir).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { projectRoot } from '../../core/paths.ts';
import { startWorkerService, type WorkerService } from '../../worker/worker-service.ts';
import { http, redisUrl, startStack, type TestStack } from '../support/stack.ts';

const IDS = ['r1', 'r2', 'r3', 'r4', 'r5'];

interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stderr line matching `pattern` (lines already seen count). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code; through npx, `code` is null and `signal` SIGINT after a Ctrl-C (npm re-raises it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/**
 * Runs `npx tsx tools/batch-cli.ts …` as a user would, in a process group of its own: a Ctrl-C is
 * then sent as a terminal sends it, to the whole group (npx and tsx pass it on as well).
 */
function startCli(baseUrl: string, args: string[]): Cli {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_BASE_URL: `${baseUrl}/v1` };
  delete env.OPENAI_API_KEY;
  const child = spawn('npx', ['tsx', 'tools/batch-cli.ts', ...args], { cwd: projectRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const check of waiters) check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForLine(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = stderr.split('\n').find((l) => pattern.test(l));
          if (line === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no stderr line matching ${pattern} within ${timeoutMs} ms; stderr so far:\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
        void exited.then(() => {
          if (!waiters.delete(check)) return;
          clearTimeout(timer);
          reject(new Error(`the command ended before printing ${pattern}; stderr:\n${stderr}`));
        });
      });
    },
  };
}

async function runCli(baseUrl: string, args: string[]) {
  const cli = startCli(baseUrl, args);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** A chat batch of one line per id, for the served model. */
function writeInput(file: string, model: string): void {
  const lines = IDS.map((id) =>
    JSON.stringify({
      custom_id: id,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, temperature: 0 },
    }),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** The output holds one successful chat completion per custom_id, each once. */
function expectChatOutput(file: string): void {
  const lines = readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
  expect(lines.map((line) => line.custom_id).sort()).toEqual(IDS);
  for (const line of lines) {
    expect(line.error ?? null).toBeNull();
    expect(line.response.status_code).toBe(200);
    expect(line.response.body.object).toBe('chat.completion');
    expect(line.response.body.choices[0].message.role).toBe('assistant');
    expect(typeof line.response.body.choices[0].message.content).toBe('string');
  }
}

/** The id lines name: what /v1/models lists, or (no worker yet) what configuration predicts. */
async function servedModel(stack: TestStack): Promise<string> {
  const { body } = await http(stack.baseUrl, 'GET', '/v1/models');
  return (body.data[0]?.id as string | undefined) ?? stack.api.deps.modelId;
}

afterEach(() => {
  // A test that failed half way must not leave its command running.
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('npm run batch -- run', () => {
  let stack: TestStack;
  let dir: string;
  let model: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-batch-cli-'));
    stack = await startStack({ env: { FILES_DIR: path.join(dir, 'files') } });
    model = await servedModel(stack);
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads the input, follows the batch and downloads one result per line', async () => {
    const input = path.join(dir, 'input.jsonl');
    const output = path.join(dir, 'output.jsonl');
    writeInput(input, model);
    const { code, stdout, stderr } = await runCli(stack.baseUrl, ['run', input, '-o', output, '--metadata', 'test=batch-cli']);
    expect(stderr).toMatch(/^\S+ created from \S+; if this command stops, follow the batch again with:$/m);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\S+ completed: 5 of 5 lines done \(5 succeeded, 0 failed\); /);
    expect(stdout.endsWith(`; output: ${output}; errors: none\n`)).toBe(true);
    expectChatOutput(output);
    expect(existsSync(path.join(dir, 'output.errors.jsonl'))).toBe(false);
    expect(existsSync(`${output}.part`)).toBe(false);
  }, 120_000);

  it("prints the server's refusal in one line, without a stack trace", async () => {
    const { code, stdout, stderr } = await runCli(stack.baseUrl, ['status', 'batch_doesnotexist']);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: GET \/v1\/batches\/batch_doesnotexist answered 404[^\n]*\n$/);
  }, 60_000);
});

describe('npm run batch -- run --batch <id>', () => {
  let stack: TestStack;
  let worker: WorkerService | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-batch-cli-'));
    // No worker at first: the batch is sure to be still running when the command is interrupted.
    stack = await startStack({ env: { FILES_DIR: path.join(dir, 'files') }, worker: false });
  });
  afterAll(async () => {
    await worker?.close(0);
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('picks up a batch after Ctrl-C stopped the command, which left the batch running', async () => {
    const input = path.join(dir, 'input.jsonl');
    const output = path.join(dir, 'output.jsonl');
    writeInput(input, await servedModel(stack));

    const first = startCli(stack.baseUrl, ['run', input, '-o', output]);
    const created = await first.waitForLine(/ created from /);
    const batchId = created.split(' ')[0]!;
    await first.waitForLine(/^\S+ in_progress: /);
    process.kill(-first.child.pid!, 'SIGINT');
    // The command exits 130; npx, which got the Ctrl-C too, then ends itself by the same signal (a shell shows 130 either way).
    const ended = await first.exited;
    expect(ended.code === 130 || ended.signal === 'SIGINT').toBe(true);
    expect(first.stderr()).toContain(`interrupted: ${batchId} goes on running on the server (it was not cancelled)`);
    expect(first.stderr()).toContain(`  npm run batch -- run --batch ${batchId} -o ${output}\n`);
    expect(existsSync(output)).toBe(false);
    const { body: batch } = await http(stack.baseUrl, 'GET', `/v1/batches/${batchId}`);
    expect(batch.status).toBe('in_progress');
    expect(batch.cancelling_at ?? null).toBeNull();

    worker = await startWorkerService(stack.config, stack.config.REDIS_URL ?? redisUrl(), createLogger('test', stack.config.LOG_LEVEL));
    const { code, stdout, stderr } = await runCli(stack.baseUrl, ['run', '--batch', batchId, '-o', output]);
    expect(stderr).not.toContain(' created from ');
    expect(code).toBe(0);
    expect(stdout).toBe(`${batchId} completed: 5 of 5 lines done (5 succeeded, 0 failed); output: ${output}; errors: none\n`);
    expectChatOutput(output);
  }, 180_000);
});
