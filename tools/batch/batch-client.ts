/**
 * The Files and Batch API over plain HTTP, with Node's own fetch: the command needs five calls, and
 * a dependency (or the openai package, a devDependency here) would not make them clearer.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Batch, FileObject } from './batch-object.ts';

/** Where `npm start` listens; the official openai client reads the same variable. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080/v1';
/** A status request that takes this long is treated as a broken connection and tried again. */
const SMALL_REQUEST_TIMEOUT_MS = 30_000;

/** The server answered with an error status; `message` is its own words. */
export class ApiError extends Error {
  constructor(
    /** `METHOD /path` as sent, e.g. `POST /v1/batches`. */
    readonly request: string,
    readonly status: number,
    message: string,
    readonly type?: string,
    readonly code?: string,
    readonly param?: string,
    /** From `Retry-After`, when the server sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth asking again later: overload, a restarting deployment, a proxy between replicas. */
  get transient(): boolean {
    return this.status === 408 || this.status === 429 || (this.status >= 500 && this.status !== 501);
  }
}

/** No answer at all: refused, reset, timed out, or a name that does not resolve. */
export class ConnectionError extends Error {
  readonly transient = true;
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

/** `OPENAI_BASE_URL` and `OPENAI_API_KEY`, as the official clients read them. */
export function clientOptionsFromEnv(env: NodeJS.ProcessEnv): ClientOptions {
  const apiKey = env.OPENAI_API_KEY?.trim();
  return { baseUrl: env.OPENAI_BASE_URL?.trim() || DEFAULT_BASE_URL, ...(apiKey ? { apiKey } : {}) };
}

export interface CreateBatchBody {
  input_file_id: string;
  endpoint: string;
  completion_window: string;
  metadata?: Record<string, string>;
}

export class BatchClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Uploads a file as multipart, read from disk as it is sent (openAsBlob is lazy), never whole in memory. */
  async uploadFile(file: string, purpose: string, signal?: AbortSignal): Promise<FileObject> {
    const form = new FormData();
    form.append('purpose', purpose);
    form.append('file', await openAsBlob(file, { type: 'application/jsonl' }), path.basename(file));
    return this.json<FileObject>('POST', '/files', { body: form, signal });
  }

  createBatch(body: CreateBatchBody, signal?: AbortSignal): Promise<Batch> {
    return this.json<Batch>('POST', '/batches', { body: JSON.stringify(body), json: true, signal, small: true });
  }

  getBatch(id: string, signal?: AbortSignal): Promise<Batch> {
    return this.json<Batch>('GET', `/batches/${encodeURIComponent(id)}`, { signal, small: true });
  }

  cancelBatch(id: string, signal?: AbortSignal): Promise<Batch> {
    return this.json<Batch>('POST', `/batches/${encodeURIComponent(id)}/cancel`, { signal, small: true });
  }

  /**
   * Streams a file's content to `target` through `<target>.part`, renamed only once complete, so
   * an interrupted download never leaves a file that looks finished. Resolves with its size;
   * with `skipEmpty`, an empty file is not written at all.
   */
  async downloadFile(id: string, target: string, options: { signal?: AbortSignal; skipEmpty?: boolean } = {}): Promise<number> {
    const { signal, skipEmpty = false } = options;
    const response = await this.send('GET', `/files/${encodeURIComponent(id)}/content`, { signal });
    const partial = `${target}.part`;
    try {
      const body = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
      await pipeline(body, createWriteStream(partial), { signal });
      const { size } = await stat(partial);
      // An empty error file is no news: whatever is at `target` (an earlier run's file) stays.
      if (size === 0 && skipEmpty) await rm(partial);
      else await rename(partial, target);
      return size;
    } catch (error) {
      await rm(partial, { force: true });
      // A local file problem (EACCES, ENOSPC) is reported as itself; anything else broke the connection.
      if (signal?.aborted || (error as NodeJS.ErrnoException).path !== undefined) throw error;
      throw new ConnectionError(`the download of ${id} broke off: ${reason(error)}`);
    }
  }

  private async json<T>(method: string, route: string, init: RequestOptions): Promise<T> {
    const response = await this.send(method, route, init);
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(`${method} ${new URL(response.url || `${this.baseUrl}${route}`).pathname}`, response.status, `the answer is not JSON: ${preview(text)}`);
    }
  }

  /** One request; any status but 2xx becomes an ApiError, a missing answer a ConnectionError. */
  private async send(method: string, route: string, init: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.json) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const url = new URL(`${this.baseUrl}${route}`);
    // Named by its full path (`GET /v1/batches/…`): a base URL without `/v1` then shows in messages.
    const request = `${method} ${url.pathname}`;
    const signals = [init.signal, init.small ? AbortSignal.timeout(SMALL_REQUEST_TIMEOUT_MS) : undefined].filter((s) => s !== undefined);
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new ConnectionError(`cannot reach ${url.origin} (${request}): ${reason(error)}`);
    }
    if (response.ok) return response;
    throw await apiError(request, response);
  }
}

interface RequestOptions {
  body?: string | FormData;
  json?: boolean;
  signal?: AbortSignal | undefined;
  /** A small JSON call, which gets a timeout (uploads and downloads may rightly take long). */
  small?: boolean;
}

/** OpenAI's `{error: {message, type, code, param}}`, this server's `{error: {code, message}}`, or the text. */
async function apiError(request: string, response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  let error: Record<string, unknown> | undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (body && typeof body.error === 'object' && body.error !== null) error = body.error as Record<string, unknown>;
    else if (body && typeof body.error === 'string') error = { message: body.error };
  } catch {
    // not JSON: a proxy's page, say; its first words are shown
  }
  const field = (name: string) => (typeof error?.[name] === 'string' ? (error[name] as string) : undefined);
  const message = field('message') ?? (text.trim() ? preview(text) : `HTTP ${response.status} ${response.statusText}`.trim());
  return new ApiError(request, response.status, message, field('type'), field('code'), field('param'), retryAfterMs);
}

/** Seconds or an HTTP date, as RFC 9110 allows. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** fetch says only "fetch failed"; the cause has the useful part (ECONNREFUSED, ENOTFOUND, …). */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `no answer within ${SMALL_REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.message || cause?.code || error.message;
}

function preview(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
