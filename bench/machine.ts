import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../core/paths.ts';
import type { MachineFacts } from './results.ts';

const LIBRARIES = ['node-llama-cpp', 'bullmq', 'ioredis', 'express', 'piscina', 'zod', 'autocannon'];

function installedVersion(name: string): string {
  try {
    const file = path.join(projectRoot, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineFacts(llamaCpp: string, loadAverageBefore: number[]): MachineFacts {
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    libraries: Object.fromEntries(LIBRARIES.map((name) => [name, installedVersion(name)])),
    redis: /v=(\S+)/.exec(run('redis-server', ['--version']))?.[1] ?? 'unknown',
    llamaCpp,
    gitCommit: `${run('git', ['rev-parse', '--short', 'HEAD'])}${dirty ? ' (with uncommitted changes)' : ''}`,
    loadAverageBefore,
    loadAverageAfter: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}
