/**
 * The batch command's command line, parsed into one of its commands. Kept apart from
 * tools/batch-cli.ts so that it is tested without running anything.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run batch -- <command>
  run <input.jsonl> -o <output.jsonl> [options]
                               upload the requests, run them as a batch, follow it, download the results
      --endpoint <path>        the endpoint of every request line (default /v1/chat/completions)
      --window <window>        completion window (default 24h)
      --metadata <key=value>   metadata of the batch; repeatable
      --errors <path>          where failed lines go (default <output name>.errors.jsonl beside the output)
  run --batch <id> -o <output.jsonl> [--errors <path>]
                               follow a batch created earlier (after Ctrl-C, say) and download its results
  status <id> [--json]         a batch's status and counts (--json: the batch object as the server sent it)
  cancel <id>                  cancel a batch; lines already finished stay in its output

environment:
  OPENAI_BASE_URL   the API (default http://127.0.0.1:8080/v1)
  OPENAI_API_KEY    sent as "Authorization: Bearer <key>" when set

exit codes: 0 completed (run) or done (status, cancel); 1 the batch failed, expired or was cancelled;
  2 a bad command line or input file; 3 a request refused or the server unreachable; 130 interrupted
`;

export const DEFAULT_ENDPOINT = '/v1/chat/completions';
export const DEFAULT_WINDOW = '24h';

/** A command line that cannot be run: its message and the usage go to stderr, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The message of a command line with no command at all, which is answered with the whole usage. */
export const NO_COMMAND = 'a command is missing';

export type Command =
  | { kind: 'help' }
  | { kind: 'run'; input: string; output: string; errors: string; endpoint: string; window: string; metadata: Record<string, string> }
  | { kind: 'resume'; batchId: string; output: string; errors: string }
  | { kind: 'status'; batchId: string; json: boolean }
  | { kind: 'cancel'; batchId: string };

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  errors: { type: 'string' },
  batch: { type: 'string' },
  endpoint: { type: 'string' },
  window: { type: 'string' },
  metadata: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;

/**
 * Parses the arguments after `npm run batch --`. Relative paths are resolved against `cwd`
 * (see userCwd), so the command and its resume hint mean the same files wherever they are run.
 */
export function parseCommand(argv: readonly string[], cwd = process.cwd()): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' own words ("Unknown option '--x'") are clear; its error codes are not for users.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || command === 'help') return { kind: 'help' };
  if (command === undefined) throw new UsageError(NO_COMMAND);
  const given = (Object.keys(values) as OptionName[]).filter((name) => values[name] !== undefined);
  const only = (allowed: OptionName[]) => {
    const extra = given.find((name) => !allowed.includes(name));
    if (extra) throw new UsageError(`--${extra} does not apply to ${command}${values.batch !== undefined ? ' --batch' : ''}`);
  };
  const oneId = () => {
    if (args.length !== 1 || !args[0]) throw new UsageError(`${command} takes one batch id`);
    return args[0];
  };

  switch (command) {
    case 'run': {
      const output = nonEmpty('--output', values.output);
      if (output === undefined) throw new UsageError('run needs -o <output.jsonl>');
      const outputPath = path.resolve(cwd, output);
      const errors = path.resolve(cwd, nonEmpty('--errors', values.errors) ?? defaultErrorsPath(output));
      if (errors === outputPath) throw new UsageError('--errors must name another file than --output');
      const batchId = nonEmpty('--batch', values.batch);
      if (batchId !== undefined) {
        only(['batch', 'output', 'errors']);
        if (args.length > 0) throw new UsageError('run --batch follows a batch created earlier: it takes no input file');
        return { kind: 'resume', batchId, output: outputPath, errors };
      }
      only(['output', 'errors', 'endpoint', 'window', 'metadata']);
      if (args.length !== 1 || !args[0]) throw new UsageError('run takes one input file (or --batch <id>)');
      return {
        kind: 'run',
        input: path.resolve(cwd, args[0]),
        output: outputPath,
        errors,
        endpoint: nonEmpty('--endpoint', values.endpoint) ?? DEFAULT_ENDPOINT,
        window: nonEmpty('--window', values.window) ?? DEFAULT_WINDOW,
        metadata: parseMetadata(values.metadata ?? []),
      };
    }
    case 'status':
      only(['json']);
      return { kind: 'status', batchId: oneId(), json: values.json === true };
    case 'cancel':
      only([]);
      return { kind: 'cancel', batchId: oneId() };
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function nonEmpty(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${name} is empty`);
  return value;
}

/** `key=value` pairs; the value may hold `=` itself. The server checks OpenAI's limits (16 keys, lengths). */
export function parseMetadata(pairs: readonly string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--metadata takes key=value, not "${pair}"`);
    const key = pair.slice(0, at);
    if (Object.hasOwn(metadata, key)) throw new UsageError(`--metadata ${key} is given twice`);
    metadata[key] = pair.slice(at + 1);
  }
  return metadata;
}

/** `out/results.jsonl` → `out/results.errors.jsonl`: next to the output, named after it. */
export function defaultErrorsPath(output: string): string {
  const { dir, name } = path.parse(output);
  return path.join(dir, `${name}.errors.jsonl`);
}

/**
 * The directory the user typed the command in. `npm run` moves to the package root before running
 * a script and keeps the original directory in INIT_CWD; without this, `npm run batch -- run
 * in.jsonl` from a subdirectory would look for in.jsonl in the wrong place.
 */
export function userCwd(env: NodeJS.ProcessEnv, cwd: string): string {
  return env.npm_lifecycle_event === 'batch' && env.INIT_CWD ? env.INIT_CWD : cwd;
}

/** Quotes an argument for a POSIX shell when it needs it, so a printed command can be pasted back. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The command that picks a batch up again, printed when the follow is interrupted. */
export function resumeCommand(batchId: string, output: string, errors?: string): string {
  const words = ['npm', 'run', 'batch', '--', 'run', '--batch', batchId, '-o', output, ...(errors ? ['--errors', errors] : [])];
  return words.map(shellQuote).join(' ');
}
