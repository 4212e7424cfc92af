import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/paths.ts';
import {
  defaultErrorsPath,
  parseCommand,
  parseMetadata,
  resumeCommand,
  shellQuote,
  USAGE,
  UsageError,
  userCwd,
} from '../../tools/batch/cli-args.ts';

const CWD = '/home/me/work';
const parse = (...argv: string[]) => parseCommand(argv, CWD);
const refusal = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
};

/** The real command as a process (async: nothing in this test process must block). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'tools', 'batch-cli.ts'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run batch -- run', () => {
  it('takes the input and -o, with OpenAI defaults for the rest', () => {
    expect(parse('run', 'in.jsonl', '-o', 'out/results.jsonl')).toEqual({
      kind: 'run',
      input: '/home/me/work/in.jsonl',
      output: '/home/me/work/out/results.jsonl',
      errors: '/home/me/work/out/results.errors.jsonl',
      endpoint: '/v1/chat/completions',
      window: '24h',
      metadata: {},
    });
  });

  it('takes the endpoint, window, errors path and repeated metadata', () => {
    const command = parse('run', '/data/in.jsonl', '--output', '/data/out.jsonl', '--endpoint', '/v1/completions', '--window', '2h',
      '--errors', 'failed.jsonl', '--metadata', 'team=search', '--metadata', 'query=a=b');
    expect(command).toMatchObject({
      input: '/data/in.jsonl',
      output: '/data/out.jsonl',
      errors: '/home/me/work/failed.jsonl',
      endpoint: '/v1/completions',
      window: '2h',
      metadata: { team: 'search', query: 'a=b' },
    });
  });

  it('refuses what it cannot run, saying why', () => {
    expect(refusal('run', 'in.jsonl')).toBe('run needs -o <output.jsonl>');
    expect(refusal('run', '-o', 'out.jsonl')).toBe('run takes one input file (or --batch <id>)');
    expect(refusal('run', 'a.jsonl', 'b.jsonl', '-o', 'out.jsonl')).toBe('run takes one input file (or --batch <id>)');
    expect(refusal('run', 'in.jsonl', '-o', '')).toBe('--output is empty');
    expect(refusal('run', 'in.jsonl', '-o', 'out.jsonl', '--errors', 'out.jsonl')).toBe('--errors must name another file than --output');
    expect(refusal('run', 'in.jsonl', '-o', 'out.jsonl', '--json')).toBe('--json does not apply to run');
    expect(refusal('run', 'in.jsonl', '-o', 'out.jsonl', '--windw', '1h')).toMatch(/Unknown option '--windw'/);
    expect(refusal('run', 'in.jsonl', '-o')).toMatch(/argument missing/);
  });
});

describe('npm run batch -- run --batch <id>', () => {
  it('follows a batch created earlier: no input, no upload options', () => {
    expect(parse('run', '--batch', 'batch_abc', '-o', 'out.jsonl')).toEqual({
      kind: 'resume',
      batchId: 'batch_abc',
      output: '/home/me/work/out.jsonl',
      errors: '/home/me/work/out.errors.jsonl',
    });
    expect(refusal('run', 'in.jsonl', '--batch', 'batch_abc', '-o', 'out.jsonl')).toBe('run --batch follows a batch created earlier: it takes no input file');
    expect(refusal('run', '--batch', 'batch_abc', '-o', 'out.jsonl', '--window', '1h')).toBe('--window does not apply to run --batch');
    expect(refusal('run', '--batch', 'batch_abc')).toBe('run needs -o <output.jsonl>');
  });
});

describe('npm run batch -- status|cancel', () => {
  it('takes one batch id', () => {
    expect(parse('status', 'batch_abc')).toEqual({ kind: 'status', batchId: 'batch_abc', json: false });
    expect(parse('status', 'batch_abc', '--json')).toEqual({ kind: 'status', batchId: 'batch_abc', json: true });
    expect(parse('cancel', 'batch_abc')).toEqual({ kind: 'cancel', batchId: 'batch_abc' });
    expect(refusal('status')).toBe('status takes one batch id');
    expect(refusal('cancel', 'a', 'b')).toBe('cancel takes one batch id');
    expect(refusal('cancel', 'batch_abc', '--json')).toBe('--json does not apply to cancel');
    expect(refusal('status', 'batch_abc', '-o', 'x')).toBe('--output does not apply to status');
  });

  it('knows no other command', () => {
    expect(refusal('list')).toBe('unknown command "list"');
    expect(refusal()).toBe('a command is missing');
  });
});

describe('help', () => {
  it('is --help, -h or help, before or after a command', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['run', '--help'], ['status', '-h']]) expect(parse(...argv)).toEqual({ kind: 'help' });
  });

  it('names every command, the environment and the exit codes', () => {
    for (const text of ['run <input.jsonl> -o <output.jsonl>', 'run --batch <id>', 'status <id>', 'cancel <id>', '--metadata <key=value>',
      'OPENAI_BASE_URL', 'OPENAI_API_KEY', 'exit codes']) expect(USAGE).toContain(text);
  });
});

describe('the pieces of the command line', () => {
  it('reads metadata as key=value, refusing the rest', () => {
    expect(parseMetadata(['a=1', 'b=', 'c=x=y'])).toEqual({ a: '1', b: '', c: 'x=y' });
    expect(() => parseMetadata(['novalue'])).toThrow('--metadata takes key=value, not "novalue"');
    expect(() => parseMetadata(['=x'])).toThrow('--metadata takes key=value');
    expect(() => parseMetadata(['a=1', 'a=2'])).toThrow('--metadata a is given twice');
  });

  it('puts the errors next to the output, named after it', () => {
    expect(defaultErrorsPath('/d/results.jsonl')).toBe('/d/results.errors.jsonl');
    expect(defaultErrorsPath('results')).toBe('results.errors.jsonl');
    expect(defaultErrorsPath('out/r.v2.json')).toBe('out/r.v2.errors.jsonl');
  });

  it('resolves paths from where `npm run batch` was typed, not from the package root', () => {
    expect(userCwd({ npm_lifecycle_event: 'batch', INIT_CWD: '/home/me/sub' }, '/repo')).toBe('/home/me/sub');
    // Another script's INIT_CWD (the test run's own, say) says nothing about this command.
    expect(userCwd({ npm_lifecycle_event: 'test', INIT_CWD: '/elsewhere' }, '/repo')).toBe('/repo');
    expect(userCwd({}, '/repo')).toBe('/repo');
  });

  it('prints a resume command that can be pasted back into a shell', () => {
    expect(shellQuote('/tmp/out.jsonl')).toBe('/tmp/out.jsonl');
    expect(shellQuote("/tmp/my results/it's.jsonl")).toBe(`'/tmp/my results/it'\\''s.jsonl'`);
    expect(resumeCommand('batch_1', '/tmp/out.jsonl')).toBe('npm run batch -- run --batch batch_1 -o /tmp/out.jsonl');
    expect(resumeCommand('batch_1', '/tmp/a b.jsonl', '/tmp/e.jsonl')).toBe("npm run batch -- run --batch batch_1 -o '/tmp/a b.jsonl' --errors /tmp/e.jsonl");
  });
});

describe('the batch command as a process', () => {
  it('prints its usage for --help, and exits 0', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toBe(USAGE);
  });

  it('says what is wrong with a command line in one line, and exits 2', async () => {
    const { code, stdout, stderr } = await cli(['run', 'in.jsonl']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('error: run needs -o <output.jsonl> (npm run batch -- --help shows the usage)\n');
  });

  it('says which server it cannot reach, without a stack trace, and exits 3', async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    await new Promise((resolve) => server.close(resolve));
    const { code, stderr } = await cli(['status', 'batch_1'], { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` });
    expect(code).toBe(3);
    expect(stderr).toBe(`error: cannot reach http://127.0.0.1:${port} (GET /v1/batches/batch_1): connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });
});
