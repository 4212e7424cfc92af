import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createModelDownloader, type ModelDownloader } from 'node-llama-cpp';
import { ModelError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { redactUrl, redactUrlsIn } from '../redact-url.ts';
import { withFileLock } from './file-lock.ts';
import { downloadFileName, HF_SCHEMES } from './model-uri.ts';

/** The Hugging Face endpoint node-llama-cpp resolves `hf:` URIs against. */
function huggingFaceEndpoint(): string {
  const configured = process.env.MODEL_ENDPOINT || process.env.HF_ENDPOINT || 'https://huggingface.co/';
  return configured.endsWith('/') ? configured : `${configured}/`;
}

/** The URL whose answer tells whether the download can work: the file itself where the URI names one. */
function probeUrl(uri: string): string {
  if (!HF_SCHEMES.test(uri)) return uri;
  const [ref = '', branch = 'main'] = uri.replace(HF_SCHEMES, '').split('#');
  const parts = ref.split('/');
  if (parts.length < 3) return huggingFaceEndpoint();
  const [user, repo, ...file] = parts;
  return `${huggingFaceEndpoint()}${user}/${repo}/resolve/${encodeURIComponent(branch)}/${file.map(encodeURIComponent).join('/')}`;
}

function networkReason(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const code = err.cause?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found, offline?';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  // Libraries quote the URL they were given (fetch refuses one with credentials, naming it in full).
  return redactUrlsIn(err.cause?.message ?? err.message ?? String(error));
}

/**
 * Checks, before the downloader starts, that the server answers and has the file. The downloader
 * retries unreachable hosts for many minutes; a start without network must fail (or fall back) now.
 */
async function probe(uri: string, timeoutMs: number): Promise<void> {
  const url = probeUrl(uri);
  const shown = redactUrl(uri);
  const ask = async (method: 'HEAD' | 'GET') => {
    const response = await fetch(url, {
      method,
      redirect: 'follow',
      signal: AbortSignal.timeout(timeoutMs),
      ...(method === 'GET' ? { headers: { range: 'bytes=0-0' } } : {}),
    });
    await response.body?.cancel();
    return response.status;
  };
  let status: number;
  try {
    status = await ask('HEAD');
    // Some servers refuse HEAD, and URLs signed for GET (S3 presigned) answer it 403: ask again as the downloader will.
    if (status === 403 || status === 405 || status === 501) status = await ask('GET');
  } catch (error) {
    throw new ModelError('model_unreachable', `cannot download ${shown}: ${new URL(url).host} is unreachable (${networkReason(error, timeoutMs)}).`);
  }
  if (status === 404 || status === 410) throw new ModelError('model_not_found', `cannot download ${shown}: the server has no such file (HTTP ${status}).`);
  if (status === 401 || status === 403) {
    throw new ModelError('model_forbidden', `cannot download ${shown}: access denied (HTTP ${status}). Gated Hugging Face models need HF_TOKEN.`);
  }
}

export interface DownloadOptions {
  logger: Logger;
  /** How long the server may stay silent (probe, and during the transfer) before the download fails. */
  timeoutMs: number;
  /** Draw a progress bar (for a terminal). */
  progressBar?: boolean;
}

/**
 * Downloads a remote model into `dir` once, with node-llama-cpp's downloader: data goes to a
 * `.ipull` file that is renamed when complete (a model is never half-written under its name), and
 * an interrupted download resumes where it stopped at the next start. Concurrent starts sharing
 * `dir` wait for one another. Returns the local file.
 */
export async function downloadModel(uri: string, dir: string, options: DownloadOptions): Promise<string> {
  const target = path.join(dir, downloadFileName(uri));
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  return await withFileLock(`${target}.lock`, async () => {
    if (existsSync(target)) return target;
    await probe(uri, options.timeoutMs);
    return await transfer(uri, dir, target, options);
  }, { onWait: () => options.logger.info({ uri: redactUrl(uri) }, 'another process is downloading this model; waiting for it') });
}

async function transfer(uri: string, dir: string, target: string, options: DownloadOptions): Promise<string> {
  const { logger, timeoutMs } = options;
  // What logs and errors name instead of the URI: it may hold credentials or a signature.
  const shown = redactUrl(uri);
  let lastDataAt = Date.now();
  let lastLogAt = 0;
  let downloaded = 0;
  const onProgress = ({ totalSize, downloadedSize }: { totalSize: number; downloadedSize: number }) => {
    if (downloadedSize > downloaded) lastDataAt = Date.now();
    downloaded = downloadedSize;
    if (Date.now() - lastLogAt >= 5000 || downloadedSize === totalSize) {
      lastLogAt = Date.now();
      const percent = totalSize > 0 ? Math.floor((downloadedSize / totalSize) * 100) : 0;
      logger.info({ uri: shown, downloadedBytes: downloadedSize, totalBytes: totalSize, percent }, 'downloading model');
    }
  };
  // No `cause`: the library's error may quote the URI, and a logged error carries its cause along.
  const failed = (error: unknown) =>
    error instanceof ModelError ? error : new ModelError('model_download_failed', `cannot download ${shown}: ${networkReason(error, timeoutMs)}.`);

  let downloader: ModelDownloader;
  try {
    downloader = await withTimeout(
      createModelDownloader({
        modelUri: uri,
        dirPath: dir,
        fileName: path.basename(target),
        showCliProgress: options.progressBar ?? false,
        deleteTempFileOnCancel: false,
        onProgress,
      }),
      timeoutMs,
      () => new ModelError('model_unreachable', `cannot download ${shown}: the server did not answer within ${Math.round(timeoutMs / 1000)} s.`),
    );
  } catch (error) {
    throw failed(error);
  }
  logger.info({ uri: shown, file: target, totalBytes: downloader.totalSize }, 'downloading model');
  let stalled: ModelError | undefined;
  let rejectStalled: (error: ModelError) => void = () => undefined;
  const stall = new Promise<never>((_, reject) => (rejectStalled = reject));
  const watchdog = setInterval(() => {
    if (Date.now() - lastDataAt < timeoutMs) return;
    clearInterval(watchdog);
    stalled = new ModelError(
      'model_download_stalled',
      `download of ${shown} received no data for ${Math.round(timeoutMs / 1000)} s; stopped. ` +
        'What arrived is kept, and the download resumes at the next start.',
    );
    void downloader.cancel({ deleteTempFile: false }).catch(() => undefined);
    rejectStalled(stalled);
  }, Math.min(1000, timeoutMs));
  watchdog.unref();
  try {
    const file = await Promise.race([downloader.download(), stall]);
    // A cancelled download may resolve as if done: only a complete file under its final name counts.
    if (stalled) throw stalled;
    if (!existsSync(file) || statSync(file).size !== downloader.totalSize) {
      throw new ModelError('model_download_failed', `download of ${shown} ended before the whole file arrived; it resumes at the next start.`);
    }
    logger.info({ uri: shown, file, bytes: downloader.totalSize }, 'model downloaded');
    return file;
  } catch (error) {
    throw failed(error);
  } finally {
    clearInterval(watchdog);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
