import type { BatchLineError } from './batch-object.ts';
import { LineError, type BatchLine, type LineContext } from './batch-line.ts';
import type { JsonlLine } from './jsonl-lines.ts';

/** Errors listed in a failed batch, at most: the first ones say what is wrong with the file. */
const MAX_REPORTED = 1000;

export interface Validation {
  /** Request lines (blank lines are not requests). */
  total: number;
  errors: BatchLineError[];
}

/**
 * Reads a whole input file before any line runs, as OpenAI does: every line must be a request
 * this server would accept on the batch's endpoint, with a `custom_id` of its own. One bad line
 * fails the batch, with each problem's line number, code and message.
 */
export async function validateInput(
  lines: AsyncIterable<JsonlLine>,
  parse: (text: string, context: LineContext) => BatchLine,
  context: LineContext,
  maxLines: number,
): Promise<Validation> {
  const errors: BatchLineError[] = [];
  const report = (error: BatchLineError) => {
    if (errors.length < MAX_REPORTED) errors.push(error);
  };
  const seen = new Set<string>();
  let total = 0;
  for await (const line of lines) {
    total += 1;
    if (total > maxLines) {
      report({ code: 'too_many_lines', message: `a batch holds at most ${maxLines} requests`, param: null, line: line.number });
      break;
    }
    try {
      const { custom_id: customId } = parse(line.text, context);
      if (seen.has(customId)) report({ code: 'duplicate_custom_id', message: `custom_id ${JSON.stringify(customId)} is used by an earlier line`, param: 'custom_id', line: line.number });
      seen.add(customId);
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      report({ code: error.code, message: error.message, param: error.param, line: line.number });
    }
  }
  if (total === 0) report({ code: 'empty_file', message: 'the input file holds no requests', param: null, line: null });
  return { total: Math.min(total, maxLines), errors };
}
