import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../core/paths.ts';

export const repo = (...parts: string[]): string => path.join(projectRoot, ...parts);

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], options: SpawnSyncOptions = {}): RunResult {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000, ...options });
  if (result.error) throw result.error;
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * Fails the calling test (never skips it) when a checking tool is absent, naming the Debian
 * package that provides it; .ci/run installs these packages.
 */
export function requireTool(command: string, aptPackage: string): void {
  const probe = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`${command} is not installed; install it with: apt-get install -y ${aptPackage}`);
  }
}

/** A minimal environment, so that the developer's own variables never leak into what a tool resolves. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', ...extra };
}

/** KEY=value lines of an env file, quotes removed (as docker compose reads them). */
export function readEnvFile(file: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1'));
  }
  return values;
}
