/**
 * `npm run bench:trace`: where the time of one `POST /api/v1/generate` goes, command by command.
 *
 * Starts its own redis-server and the system (from `dist/`, built first), warms it up, then sends
 * `BENCH_TRACE_REQUESTS` (default 3) requests one at a time (max_tokens `BENCH_TRACE_TOKENS`,
 * default 32, cache off) while `redis-cli MONITOR` records every command Redis receives. For each
 * request it prints the commands with their time since the request was sent and the connection
 * that sent them (by the connection names the processes give themselves), then the client's
 * latency and the timings the worker reported. Commands run inside Lua scripts are left out.
 * Settings as for `npm run bench`: BENCH_MODEL, BENCH_LLAMA_THREADS.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { PROMPT } from './context.ts';
import { JsonClient } from './load/http-client.ts';
import { startToolStack } from './tool-stack.ts';

const requests = Number(process.env.BENCH_TRACE_REQUESTS ?? 3);
const maxTokens = Number(process.env.BENCH_TRACE_TOKENS ?? 32);
const { stack, model, redisUrl, stop } = await startToolStack('trace');
const client = new JsonClient(stack.baseUrl, stack.headers);
const body = { prompt: PROMPT, max_tokens: maxTokens, temperature: 0, cache: false };
const admin = new Redis(redisUrl);

try {
  for (let i = 0; i < 20; i++) await client.post('/api/v1/generate', body);
  // Connection address → name, from the processes' own connection names.
  const names = new Map<string, string>();
  for (const line of ((await admin.client('LIST')) as string).split('\n')) {
    const addr = /\baddr=(\S+)/.exec(line)?.[1];
    const name = /\bname=(\S*)/.exec(line)?.[1];
    if (addr) names.set(addr, name || '(unnamed)');
  }
  const monitor = spawn('redis-cli', ['-u', redisUrl, 'monitor']);
  let recorded = '';
  monitor.stdout.on('data', (chunk: Buffer) => (recorded += chunk.toString()));
  await new Promise((resolve) => setTimeout(resolve, 300));

  const sent: { at: number; ms: number; answer: { timings?: Record<string, number> } }[] = [];
  for (let i = 0; i < requests; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const at = performance.timeOrigin + performance.now();
    const started = performance.now();
    const { body: answer } = await client.post('/api/v1/generate', body);
    sent.push({ at, ms: performance.now() - started, answer });
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  monitor.kill();

  const commands = recorded
    .split('\n')
    .map((line) => /^(\d+\.\d+) \[\d+ ([^\]]+)\] "(\w+)" ?(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2] !== 'lua')
    .map((m) => ({ at: Number(m[1]) * 1000, from: names.get(m[2] ?? '') ?? m[2] ?? '?', command: (m[3] ?? '').toLowerCase(), args: m[4] ?? '' }))
    // Worker heartbeats and model records are periodic, not part of a request.
    .filter((c) => !/^"bench-trace:(workers|models)"/.test(c.args));

  console.log(`model ${model.id}; ${stack.settings.poolThreads} pool thread(s) × ${stack.settings.sequences} sequence(s); max_tokens ${maxTokens}\n`);
  sent.forEach((request, i) => {
    const until = sent[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    const own = commands.filter((c) => c.at >= request.at && c.at < until && c.at <= request.at + request.ms + 50);
    console.log(`request ${i + 1}: ${request.ms.toFixed(2)} ms at the client; worker timings ${JSON.stringify(request.answer.timings)}`);
    for (const c of own) {
      console.log(`  ${(c.at - request.at).toFixed(2).padStart(8)} ms  ${c.from.padEnd(22)} ${c.command} ${c.args.slice(0, 70)}`);
    }
    console.log(`  ${own.length} commands\n`);
  });
} finally {
  client.close();
  await admin.quit();
  await stop();
}
