/**
 * The one rule between a job's token stream and its result: text once streamed is never taken
 * back, so the final text must extend what was streamed. node-llama-cpp detokenizes its final
 * response as a whole and each chunk alone, which can differ at the start (a first token " Once"
 * is the chunk "Once" but the response " Once…"), and a job retried after its worker died starts
 * its text again. Writers and readers on both sides of the queue decide with these functions.
 */

/** The part of `text` after `sent`, or undefined when `text` does not extend `sent`. */
export function textAfter(sent: string, text: string): string | undefined {
  return text.startsWith(sent) ? text.slice(sent.length) : undefined;
}

/**
 * The text a job reports, given the engine's final response and every chunk it emitted on the
 * way: the response when it extends the chunks (it may hold a last piece no chunk carried),
 * otherwise the chunks, which readers already have.
 */
export function finalText(response: string, emitted: string): string {
  return textAfter(emitted, response) === undefined ? emitted : response;
}

/**
 * Text sent to one client, across the attempts of its job. A new attempt is passed on only once
 * it goes beyond what was sent, and only if it repeats it (deterministic requests do; sampled
 * ones usually do not, which the caller must end).
 */
export class AppendOnlyText {
  private sent = '';
  private attempt = '';

  /** A new attempt of the job begins: its text starts from nothing. */
  restart(): void {
    this.attempt = '';
  }

  /** The new text to send ('' for none), or undefined if this attempt contradicts what was sent. */
  append(text: string): string | undefined {
    this.attempt += text;
    if (this.attempt.length <= this.sent.length) return this.sent.startsWith(this.attempt) ? '' : undefined;
    const delta = textAfter(this.sent, this.attempt);
    if (delta !== undefined) this.sent = this.attempt;
    return delta;
  }

  /** The final text, authoritative: what is still missing from it, or undefined if it contradicts what was sent. */
  finish(text: string): string | undefined {
    this.attempt = '';
    return this.append(text);
  }
}
