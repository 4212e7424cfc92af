import { createHash } from 'node:crypto';
import type { FileStore, StoredFile } from '../../core/files/file-store.ts';
import type { Metrics } from '../../core/metrics/registry.ts';
import type { BatchRecord, BatchStatus } from './batch-object.ts';
import { notRunLine, type NotRunReason, type SpooledLine } from './batch-output.ts';
import type { BatchStore } from './batch-store.ts';
import { jsonlLines } from './jsonl-lines.ts';

export interface FinalizeDeps {
  store: BatchStore;
  files: FileStore;
  metrics: Metrics;
}

/** A batch's output and error files have ids of their own, fixed, so writing them again after a crash replaces them. */
export function resultFileId(batchId: string, kind: 'output' | 'error'): string {
  return `file-${createHash('sha256').update(`${batchId}:${kind}`).digest('hex').slice(0, 32)}`;
}

/**
 * Writes a batch's output file (lines answered with 200) and error file (lines answered with an
 * error, and lines that never ran because the batch was cancelled or expired), one line per
 * `custom_id`, from the spool: a line spooled twice (by a coordinator that crashed between spooling
 * and counting) is written once. Then the batch takes its final state and the spool goes.
 */
export async function finalizeBatch(deps: FinalizeDeps, batch: BatchRecord, reason: NotRunReason | undefined): Promise<void> {
  const { store, files, metrics } = deps;
  const id = batch.object.id;
  if (reason !== 'cancelled') await store.transition(id, ['in_progress'], 'finalizing');
  const spool = files.scratch(id);
  const counts = { completed: 0, failed: 0, notRun: 0 };

  async function* spooled(ok: boolean): AsyncGenerator<string> {
    const seen = new Set<number>();
    for await (const text of spool.lines()) {
      const line = parseSpooled(text);
      // A record cut short by a crash was never counted: the line was collected again after it.
      if (!line || seen.has(line.line)) continue;
      seen.add(line.line);
      if (line.ok !== ok) continue;
      counts[ok ? 'completed' : 'failed'] += 1;
      yield `${JSON.stringify(line.record)}\n`;
    }
    // Lines that never ran: in the input, not in the spool. Only a validated input has lines to
    // name (a batch cancelled while validating has none), and only one that still exists.
    if (ok || batch.object.request_counts.total === 0 || !(await files.get(batch.object.input_file_id))) return;
    for await (const input of jsonlLines(files.read(batch.object.input_file_id))) {
      if (seen.has(input.number)) continue;
      const customId = customIdOf(input.text);
      if (customId === undefined) continue;
      counts.notRun += 1;
      yield `${JSON.stringify(notRunLine(id, input.number, customId, reason ?? 'expired').record)}\n`;
    }
  }

  const write = async (kind: 'output' | 'error', content: AsyncIterable<string>): Promise<StoredFile> =>
    await files.create({ id: resultFileId(id, kind), filename: `${id}_${kind}.jsonl`, purpose: 'batch_output', tenant: batch.tenant, content, maxBytes: Number.MAX_SAFE_INTEGER });
  const output = await write('output', spooled(true));
  const errors = await write('error', spooled(false));

  // Deleted while the batch ran, the input took its remaining lines with it: the batch failed.
  const inputLost = counts.completed + counts.failed + counts.notRun < batch.object.request_counts.total && !(await files.get(batch.object.input_file_id));
  const final: BatchStatus = reason === 'cancelled' ? 'cancelled' : inputLost ? 'failed' : counts.notRun > 0 ? 'expired' : 'completed';
  const lost = { code: 'input_file_deleted', message: `the input file ${batch.object.input_file_id} was deleted before every line ran`, param: 'input_file_id', line: null };
  const moved = await store.transition(id, ['in_progress', 'finalizing', 'cancelling'], final, {
    output_file_id: output.id,
    error_file_id: errors.id,
    completed: counts.completed,
    failed: counts.failed + counts.notRun,
    ...(final === 'failed' ? { errors: JSON.stringify({ object: 'list', data: [lost] }) } : {}),
  });
  if (moved) {
    metrics.m.batchesFinished.inc({ state: final });
    if (counts.notRun > 0) metrics.m.batchLines.inc({ outcome: reason ?? 'expired' }, counts.notRun);
  }
  await spool.remove();
}

function parseSpooled(text: string): SpooledLine | undefined {
  try {
    return JSON.parse(text) as SpooledLine;
  } catch {
    return undefined;
  }
}

function customIdOf(text: string): string | undefined {
  try {
    const { custom_id: customId } = JSON.parse(text) as { custom_id?: unknown };
    return typeof customId === 'string' ? customId : undefined;
  } catch {
    return undefined;
  }
}
