/**
 * OpenAI's Batch API on the command line (`npm run batch -- <command>`, docs/batch-cli.md):
 *
 *   run <input.jsonl> -o <output.jsonl>   upload, create the batch, follow it, download the results
 *   run --batch <id> -o <output.jsonl>    follow a batch created earlier, download its results
 *   status <id> | cancel <id>
 *
 * It speaks plain HTTP to any deployment (OPENAI_BASE_URL, OPENAI_API_KEY), this server or
 * OpenAI's own, so it imports nothing from the server's code.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, BatchClient, ConnectionError, clientOptionsFromEnv } from './batch/batch-client.ts';
import { countsOf, type Batch } from './batch/batch-object.ts';
import { batchErrorLines, statusLines, summaryLine } from './batch/batch-report.ts';
import { defaultErrorsPath, NO_COMMAND, parseCommand, resumeCommand, USAGE, UsageError, userCwd, type Command } from './batch/cli-args.ts';
import { followBatch } from './batch/follow.ts';
import { ProgressDisplay } from './batch/progress-display.ts';
import { isTransient, withRetries } from './batch/retry.ts';

const EXIT = { completed: 0, notCompleted: 1, usage: 2, request: 3, bug: 70, interrupted: 130 } as const;

/** A local file the command cannot use (missing input, unwritable output): exit code 2, no usage. */
class FileProblem extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);
const say = (line: string) => process.stderr.write(`${line}\n`);
const size = (bytes: number) => (bytes < 1024 ? `${bytes} bytes` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

/**
 * Ctrl-C aborts what is under way; the batch itself is never cancelled (that is `cancel`). npm run
 * and tsx pass a terminal's Ctrl-C on to the process besides the terminal itself, so one press
 * can arrive two or three times at once: only a press a second later forces the exit.
 */
const interrupt = new AbortController();
let interruptedAt: number | undefined;
process.on('SIGINT', () => {
  if (interruptedAt === undefined) {
    interruptedAt = Date.now();
    interrupt.abort();
  } else if (Date.now() - interruptedAt > 1000) {
    process.exit(EXIT.interrupted);
  }
});

const retries = { signal: interrupt.signal, onRetry: say };

/** The batch being followed, for the resume hint when the command is interrupted or loses the server. */
let following: { batchId: string; output: string; errors: string } | undefined;
/** Between the start of an upload and the batch's creation: an interruption there leaves no batch. */
let creating = false;

function resumeHint(): string {
  if (!following) return '';
  const { batchId, output, errors } = following;
  return resumeCommand(batchId, output, errors === path.resolve(defaultErrorsPath(output)) ? undefined : errors);
}

async function main(argv: string[]): Promise<number> {
  const command = parseCommand(argv, userCwd(process.env, process.cwd()));
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT.completed;
  }
  const client = new BatchClient(clientOptionsFromEnv(process.env));
  switch (command.kind) {
    case 'status': {
      const batch = await client.getBatch(command.batchId, interrupt.signal);
      if (command.json) out(JSON.stringify(batch, null, 2));
      else statusLines(batch).forEach(out);
      return EXIT.completed;
    }
    case 'cancel': {
      const batch = await client.cancelBatch(command.batchId, interrupt.signal);
      const { total, completed, failed } = countsOf(batch);
      out(`${batch.id} ${batch.status}: ${completed + failed} of ${total} lines done. The lines finished before the cancel stay in its output:`);
      out(`  npm run batch -- run --batch ${batch.id} -o <output.jsonl>`);
      return EXIT.completed;
    }
    case 'run':
      return run(client, command);
    case 'resume':
      await checkWritable(command.output, command.errors);
      following = { batchId: command.batchId, output: command.output, errors: command.errors };
      return collect(client, command.batchId, command.output, command.errors);
  }
}

async function run(client: BatchClient, command: Extract<Command, { kind: 'run' }>): Promise<number> {
  const bytes = await inputSize(command.input);
  // Before the upload, not after a batch of hours: a typo in -o should not cost the results.
  await checkWritable(command.output, command.errors);
  say(`uploading ${command.input} (${size(bytes)})…`);
  creating = true;
  const file = await withRetries(() => client.uploadFile(command.input, 'batch', interrupt.signal), { ...retries, attempts: 3 });
  const body = {
    input_file_id: file.id,
    endpoint: command.endpoint,
    completion_window: command.window,
    ...(Object.keys(command.metadata).length > 0 ? { metadata: command.metadata } : {}),
  };
  // Not abortable: had the server created the batch, an abort would lose its id (Ctrl-C is honoured
  // just after). Asked again only after a 429, which created nothing: after a 5xx or a lost
  // connection the batch may exist, and a second one would run every line twice.
  const batch = await withRetries(() => client.createBatch(body), {
    ...retries,
    attempts: 3,
    retryable: (error) => error instanceof ApiError && error.status === 429,
  });
  following = { batchId: batch.id, output: command.output, errors: command.errors };
  say(`${batch.id} created from ${file.id}; if this command stops, follow the batch again with:`);
  say(`  ${resumeHint()}`);
  return collect(client, batch.id, command.output, command.errors);
}

/** Follows the batch to its end, downloads whatever it produced, and says how it went. */
async function collect(client: BatchClient, batchId: string, output: string, errors: string): Promise<number> {
  const signal = interrupt.signal;
  signal.throwIfAborted();
  const display = new ProgressDisplay(process.stderr, batchId);
  let batch: Batch;
  try {
    batch = await followBatch({ client, id: batchId, display, signal });
  } finally {
    display.clear();
  }
  for (const line of batchErrorLines(batch)) say(`  ${line}`);
  const files: { output?: string; errors?: string } = {};
  // Expired and cancelled batches keep the lines that finished: those are downloaded as well.
  const download = (id: string, target: string, skipEmpty: boolean) =>
    withRetries(() => client.downloadFile(id, target, { signal, skipEmpty }), { ...retries, attempts: 4 });
  if (batch.output_file_id) {
    await download(batch.output_file_id, output, false);
    files.output = output;
  }
  if (batch.error_file_id && (await download(batch.error_file_id, errors, true)) > 0) files.errors = errors;
  out(summaryLine(batch, files));
  return batch.status === 'completed' ? EXIT.completed : EXIT.notCompleted;
}

async function inputSize(input: string): Promise<number> {
  const info = await stat(input).catch(() => undefined);
  if (!info?.isFile()) throw new FileProblem(`${input}: no such file`);
  if (info.size === 0) throw new FileProblem(`${input} is empty: a batch needs at least one request line`);
  return info.size;
}

async function checkWritable(...files: string[]): Promise<void> {
  for (const file of files) {
    const dir = path.dirname(file);
    await access(dir, constants.W_OK).catch(() => {
      throw new FileProblem(`cannot write ${file}: ${dir} does not exist or is not writable`);
    });
  }
}

/** The server's refusal in one line, in its own words, with what usually causes it. */
function describeApiError(error: ApiError): string {
  const kind = [error.type, error.code].filter(Boolean).join(' ');
  const param = error.param ? ` (param: ${error.param})` : '';
  let hint = '';
  if (error.status === 401) hint = process.env.OPENAI_API_KEY ? '; is OPENAI_API_KEY right?' : '; set OPENAI_API_KEY';
  // A 404 without OpenAI's error code usually means a URL without the /v1, or another server.
  else if (error.status === 404 && !error.code) hint = `; is OPENAI_BASE_URL right? (it is ${clientOptionsFromEnv(process.env).baseUrl})`;
  return `${error.request} answered ${error.status}${kind ? ` ${kind}` : ''}: ${error.message}${param}${hint}`;
}

function report(error: unknown): number {
  if (interrupt.signal.aborted) {
    if (following) {
      say(`interrupted: ${following.batchId} goes on running on the server (it was not cancelled). Follow it again with:`);
      say(`  ${resumeHint()}`);
    } else {
      say(creating ? 'interrupted before a batch was created: nothing runs.' : 'interrupted.');
    }
    return EXIT.interrupted;
  }
  if (error instanceof UsageError) {
    if (error.message === NO_COMMAND) process.stderr.write(USAGE);
    else say(`error: ${error.message} (npm run batch -- --help shows the usage)`);
    return EXIT.usage;
  }
  if (error instanceof FileProblem) {
    say(`error: ${error.message}`);
    return EXIT.usage;
  }
  const local = error instanceof Error && (error as NodeJS.ErrnoException).path !== undefined;
  if (error instanceof ApiError) say(`error: ${describeApiError(error)}`);
  else if (error instanceof ConnectionError || local) say(`error: ${error.message}`);
  else {
    say(`error: a bug in the batch command: ${error instanceof Error ? error.stack : String(error)}`);
    return EXIT.bug;
  }
  // The batch is fine when the server was only away or a file could not be written: say how to go on.
  if (following && (local || isTransient(error))) say(`the batch was not cancelled; follow it again with:\n  ${resumeHint()}`);
  return local ? EXIT.usage : EXIT.request;
}

// `npm run batch -- status <id> | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.completed);
  throw error;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.exitCode = report(error);
}
