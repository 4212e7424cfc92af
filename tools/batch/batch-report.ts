/** What the command prints about a batch once it has one: the summary, `status`, and why a batch failed. */
import { countsOf, type Batch } from './batch-object.ts';

function countsText(batch: Batch): string {
  const { total, completed, failed } = countsOf(batch);
  if (total === 0) return 'no lines run';
  return `${completed + failed} of ${total} lines done (${completed} succeeded, ${failed} failed)`;
}

/** The one line a run ends with (stdout): status, counts and where the files went. */
export function summaryLine(batch: Batch, files: { output?: string; errors?: string }): string {
  return `${batch.id} ${batch.status}: ${countsText(batch)}; output: ${files.output ?? 'none'}; errors: ${files.errors ?? 'none'}`;
}

/** `errors.data`, one line each: why the server refused the input (a failed batch says nothing else). */
export function batchErrorLines(batch: Batch): string[] {
  return (batch.errors?.data ?? []).map((error) => {
    const where = typeof error.line === 'number' ? `line ${error.line}: ` : '';
    const code = error.code ? `${error.code}: ` : '';
    const param = error.param ? ` (${error.param})` : '';
    return `${where}${code}${error.message ?? 'no message'}${param}`;
  });
}

const TIMES = [
  ['created_at', 'created'],
  ['in_progress_at', 'in progress'],
  ['finalizing_at', 'finalizing'],
  ['completed_at', 'completed'],
  ['failed_at', 'failed'],
  ['cancelling_at', 'cancelling'],
  ['cancelled_at', 'cancelled'],
  ['expired_at', 'expired'],
  ['expires_at', 'expires'],
] as const;

/** Epoch seconds as ISO 8601 in UTC, to the second. */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `npm run batch -- status <id>`: the summary, then the batch's files, times and metadata. */
export function statusLines(batch: Batch): string[] {
  const rows: [string, string][] = [
    ['endpoint', batch.endpoint],
    ['window', batch.completion_window],
    ['input file', batch.input_file_id],
    ['output file', batch.output_file_id ?? 'none'],
    ['error file', batch.error_file_id ?? 'none'],
  ];
  for (const [field, label] of TIMES) {
    const value = batch[field];
    if (typeof value === 'number') rows.push([label, isoTime(value)]);
  }
  const metadata = Object.entries(batch.metadata ?? {});
  if (metadata.length > 0) rows.push(['metadata', metadata.map(([key, value]) => `${key}=${value}`).join(', ')]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `${batch.id} ${batch.status}: ${countsText(batch)}`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    ...batchErrorLines(batch).map((line) => `  error: ${line}`),
  ];
}
