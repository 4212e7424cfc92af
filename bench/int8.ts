/**
 * `npm run bench:int8` — F32 against the project's own Q8_0 copy of the same model, in one run, on
 * the same prompts: file size, load time, prompt tokens/s, generated tokens/s and greedy agreement.
 * Prints a table and writes `bench/results/int8.json` and `bench/results/int8.md`.
 *
 * Environment: BENCH_INT8_MODEL (default the shared stories260K), BENCH_INT8_TOKENS (128),
 * BENCH_INT8_ROUNDS (5), BENCH_INT8_LOADS (5), LLAMA_THREADS (1), BENCH_OUT_DIR (bench/results).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getLlama, type Llama, type LlamaContextSequence, type LlamaModel } from 'node-llama-cpp';
import { projectRoot } from '../core/paths.ts';
import { greedyRun, leadingAgreement, type GreedyRun } from '../core/model/greedy.ts';
import { readGguf } from '../core/model/gguf-reader.ts';
import { needsQ8_0, quantizationName } from '../core/model/quantization.ts';
import { quantizeToQ8_0 } from '../core/model/quantize.ts';
import { SHARED_TINY_MODEL } from '../core/model/model-naming.ts';

const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] || fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};

const options = {
  model: path.resolve(process.env.BENCH_INT8_MODEL || SHARED_TINY_MODEL),
  tokens: positive('BENCH_INT8_TOKENS', 128),
  rounds: positive('BENCH_INT8_ROUNDS', 5),
  loads: positive('BENCH_INT8_LOADS', 5),
  threads: positive('LLAMA_THREADS', 1),
  outDir: path.resolve(projectRoot, process.env.BENCH_OUT_DIR || 'bench/results'),
};

/** Story openings (the shared model writes children's stories), one long enough to measure prompt throughput. */
const PROMPTS = [
  'Once upon a time',
  'The little dog',
  'Lily wanted to',
  'One day, a boy named Tom',
  'The sun was shining and',
  'Tom and Sue went',
  'The cat sat',
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. ' +
    'One day, she saw a big red ball under a tree. She ran to the ball and picked it up. Her mom said she could keep it ' +
    'if nobody came back for it. Lily waited and waited, but nobody came. She was very happy and',
];

interface Side {
  label: string;
  file: string;
  bytes: number;
  quantization: string;
  loadMs: number[];
  model: LlamaModel;
  sequence: LlamaContextSequence;
  runs: GreedyRun[][];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round1 = (n: number) => Math.round(n * 10) / 10;

async function open(llama: Llama, label: string, file: string): Promise<Side> {
  const loadMs: number[] = [];
  let model: LlamaModel | undefined;
  for (let i = 0; i < options.loads; i++) {
    await model?.dispose();
    const started = performance.now();
    model = await llama.loadModel({ modelPath: file });
    loadMs.push(performance.now() - started);
  }
  const context = await model!.createContext({ contextSize: 512, sequences: 1, threads: options.threads });
  const gguf = readGguf(file);
  return { label, file, bytes: gguf.fileSize, quantization: quantizationName(gguf), loadMs, model: model!, sequence: context.getSequence(), runs: [] };
}

/** Per round: all prompt tokens over all prompt time, all decoded tokens over all decode time. */
function throughput(side: Side) {
  const prompt = side.runs.map((round) => (round.reduce((n, r) => n + r.promptTokens, 0) * 1000) / round.reduce((ms, r) => ms + r.promptMs, 0));
  const generated = side.runs.map((round) => (round.reduce((n, r) => n + r.tokens.length - 1, 0) * 1000) / round.reduce((ms, r) => ms + r.decodeMs, 0));
  return { promptTokensPerSecond: round1(median(prompt)), generatedTokensPerSecond: round1(median(generated)) };
}

async function main(): Promise<void> {
  const source = readGguf(options.model);
  if (!needsQ8_0(source)) throw new Error(`${options.model} is ${quantizationName(source)}: the INT8 benchmark needs an F32/F16 model`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llmo-bench-int8-'));
  // Other work on the machine slows both sides: the load average is recorded with the figures.
  const loadBefore = os.loadavg()[0] ?? 0;
  try {
    const quantized = path.join(dir, path.basename(options.model).replace(/\.gguf$/i, '.q8_0.gguf'));
    const report = quantizeToQ8_0(source, quantized);
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
    const f32 = await open(llama, 'F32', options.model);
    const q8 = await open(llama, 'Q8_0', quantized);

    for (let round = 0; round < options.rounds; round++) {
      // Alternate which side goes first, so neither always runs on a warmer cache.
      const order = round % 2 === 0 ? [f32, q8] : [q8, f32];
      for (const side of order) side.runs.push([]);
      for (const prompt of PROMPTS) {
        for (const side of order) side.runs[round]!.push(await greedyRun(side.model, side.sequence, prompt, options.tokens));
      }
    }

    // Greedy output is deterministic: the first round says it all.
    const agreement = PROMPTS.map((prompt, i) => {
      const a = f32.runs[0]![i]!.tokens;
      const b = q8.runs[0]![i]!.tokens;
      return { prompt, leading: leadingAgreement(a, b), samePosition: a.filter((t, j) => b[j] === t).length, of: a.length };
    });
    const sides = [f32, q8].map((side) => ({
      label: side.label,
      quantization: side.quantization,
      fileBytes: side.bytes,
      loadMsMedian: round1(median(side.loadMs)),
      ...throughput(side),
    }));
    const result = {
      benchmark: 'int8',
      command: 'npm run bench:int8',
      date: new Date().toISOString(),
      machine: {
        cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
        cores: os.availableParallelism(),
        loadAverage: [loadBefore, os.loadavg()[0] ?? 0].map((l) => Math.round(l * 100) / 100),
        node: process.version,
        nodeLlamaCpp: version('node-llama-cpp'),
      },
      options: { ...options, model: path.basename(options.model), outDir: undefined, prompts: PROMPTS.length },
      quantization: { ms: Math.round(report.ms), tensorsQuantized: report.quantized, tensorsKept: report.kept },
      sides,
      agreement,
    };
    await Promise.all([f32, q8].map((side) => side.model.dispose()));
    print(result);
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(path.join(options.outDir, 'int8.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(options.outDir, 'int8.md'), markdown(result));
    process.stdout.write(`\nwritten: ${path.relative(process.cwd(), path.join(options.outDir, 'int8.json'))}, int8.md\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function version(name: string): string {
  return (JSON.parse(readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

type Result = {
  date: string;
  machine: { cpu: string; cores: number; loadAverage: number[]; node: string; nodeLlamaCpp: string };
  options: { model: string; tokens: number; rounds: number; loads: number; threads: number; prompts: number };
  quantization: { ms: number; tensorsQuantized: number; tensorsKept: number };
  sides: Array<{ label: string; fileBytes: number; loadMsMedian: number; promptTokensPerSecond: number; generatedTokensPerSecond: number }>;
  agreement: Array<{ prompt: string; leading: number; samePosition: number; of: number }>;
};

function rows(result: Result): string[][] {
  const [f32, q8] = result.sides;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  return [
    ['', 'F32', 'Q8_0', 'Q8_0 / F32'],
    ['file size (bytes)', String(f32!.fileBytes), String(q8!.fileBytes), ratio(q8!.fileBytes, f32!.fileBytes)],
    ['load time (ms, median)', String(f32!.loadMsMedian), String(q8!.loadMsMedian), ratio(q8!.loadMsMedian, f32!.loadMsMedian)],
    ['prompt tokens/s (median)', String(f32!.promptTokensPerSecond), String(q8!.promptTokensPerSecond), ratio(q8!.promptTokensPerSecond, f32!.promptTokensPerSecond)],
    ['generated tokens/s (median)', String(f32!.generatedTokensPerSecond), String(q8!.generatedTokensPerSecond), ratio(q8!.generatedTokensPerSecond, f32!.generatedTokensPerSecond)],
  ];
}

const short = (prompt: string) => JSON.stringify(prompt.length > 40 ? `${prompt.slice(0, 37)}...` : prompt);

function print(result: Result): void {
  const { options: o } = result;
  process.stdout.write(
    `INT8 benchmark: ${o.model}, ${o.prompts} prompts × ${o.rounds} rounds, ${o.tokens} greedy tokens each, ${o.threads} llama.cpp thread(s); ` +
      `load average ${result.machine.loadAverage.join(' → ')} on ${result.machine.cores} cores\n\n`,
  );
  const table = rows(result);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const row of table) process.stdout.write(`${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}\n`);
  process.stdout.write(`\ngreedy agreement (Q8_0 vs F32, leading tokens / same position):\n`);
  for (const a of result.agreement) process.stdout.write(`  ${short(a.prompt).padEnd(44)} ${a.leading}/${a.of}  ${a.samePosition}/${a.of}\n`);
}

function markdown(result: Result): string {
  const table = rows(result);
  const lines = [
    `# INT8 benchmark (\`npm run bench:int8\`)`,
    '',
    `${result.date}, ${result.machine.cpu} (${result.machine.cores} cores; 1-minute load average ${result.machine.loadAverage.join(' before, ')} after), ` +
      `Node ${result.machine.node}, node-llama-cpp ${result.machine.nodeLlamaCpp}.`,
    `Model ${result.options.model}; ${result.options.prompts} prompts × ${result.options.rounds} rounds, ${result.options.tokens} greedy tokens each, ` +
      `${result.options.threads} llama.cpp thread(s); quantized in ${result.quantization.ms} ms (${result.quantization.tensorsQuantized} tensors Q8_0, ${result.quantization.tensorsKept} kept).`,
    '',
    `| ${table[0]!.join(' | ')} |`,
    `|${table[0]!.map(() => '---').join('|')}|`,
    ...table.slice(1).map((r) => `| ${r.join(' | ')} |`),
    '',
    '| prompt | leading tokens equal | same position |',
    '|---|---|---|',
    ...result.agreement.map((a) => `| ${short(a.prompt)} | ${a.leading}/${a.of} | ${a.samePosition}/${a.of} |`),
    '',
  ];
  return lines.join('\n');
}

await main();
