import http from 'node:http';

/** A keep-alive JSON client: connection setup stays out of the timings, as with any real client. */
export class JsonClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly headers: Record<string, string> = {},
    maxSockets = 64,
  ) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  async post<T = any>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    const payload = JSON.stringify(body);
    return await new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method: 'POST',
          path,
          headers: { ...this.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            try {
              resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as T });
            } catch (error) {
              reject(error as Error);
            }
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Generation as `POST /api/v1/generate` answers it (the fields the bench reads). */
export interface GenerateAnswer {
  id: string;
  usage?: { completion_tokens: number };
  cached?: boolean;
  error?: { code: string; message: string };
}

/** `POST /api/v1/generate`; anything but a 200 with a result is an error (the bench must not count failures as work). */
export async function generateOnce(client: JsonClient, body: Record<string, unknown>): Promise<{ ms: number; tokens: number }> {
  const started = performance.now();
  // The longest wait the API allows: a slow answer is measured as slow, not turned into a failed run.
  const { status, body: answer } = await client.post<GenerateAnswer>('/api/v1/generate', { timeout_ms: 120_000, ...body });
  const ms = performance.now() - started;
  if (status !== 200 || !answer.usage) throw new Error(`POST /api/v1/generate answered ${status}: ${JSON.stringify(answer).slice(0, 300)}`);
  return { ms, tokens: answer.usage.completion_tokens };
}
