/**
 * The model toolkit on the command line (`npm run model -- <command>`):
 *
 *   info <file.gguf>               metadata, tensors (type, shape, size) and totals
 *   quantize <in.gguf> <out.gguf>  Q8_0 copy of an F32/F16/BF16 model
 *   pull <uri>                     download a model into MODELS_DIR (once; resumable)
 *   tiny <out.gguf> [--seed N]     write the builtin random-weight Llama
 *   synth <preset> <out.gguf> [--seed N]
 *                                  write random weights in a real model's shape (synth:<preset>)
 *   synth [--list]                 the synth presets: shape, parameters, F32 and Q8_0 sizes
 *
 * Problems with a model print one line saying what is wrong, never a stack trace.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../core/config.ts';
import { ModelError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { downloadModel } from '../core/model/download.ts';
import { isRemoteModel } from '../core/model/model-uri.ts';
import { isGgufArray, type GgufEntry, type GgufFile, type GgufValue } from '../core/model/gguf-file.ts';
import { readGguf } from '../core/model/gguf-reader.ts';
import { ggmlTypeName, GgufValueType } from '../core/model/gguf-types.ts';
import { describeModel } from '../core/model/model-facts.ts';
import { needsQ8_0, quantizationName } from '../core/model/quantization.ts';
import { quantizeToQ8_0 } from '../core/model/quantize.ts';
import {
  DEFAULT_SYNTH_SEED,
  findSynthPreset,
  SYNTH_PRESET_NAMES,
  SYNTH_PRESETS,
  synthModelSize,
  writeSynthModel,
  type SynthPresetName,
} from '../core/model/synth-model.ts';
import { DEFAULT_TINY_SEED, writeTinyModel } from '../core/model/tiny-model.ts';

const USAGE = `usage: npm run model -- <command>
  info <file.gguf>               metadata, tensors and sizes of a GGUF file
  quantize <in.gguf> <out.gguf>  write a Q8_0 copy of an F32/F16/BF16 model
  pull <uri>                     download hf:<user>/<repo>/<file>.gguf or an https URL into MODELS_DIR
  tiny <out.gguf> [--seed N]     write the builtin random-weight Llama (builtin:tiny)
  synth <preset> <out.gguf> [--seed N]
                                 write random weights in a real model's shape (synth:<preset>)
  synth [--list]                 list the synth presets: shape, parameters, F32 and Q8_0 sizes
`;

const out = (line = '') => process.stdout.write(`${line}\n`);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
const human = (bytes: number) => (bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : mib(bytes));
const TYPE_NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([name, id]) => [id, name.toLowerCase()]));

function show(value: GgufValue): string {
  if (isGgufArray(value)) {
    const head = value.items.slice(0, 6).map(show).join(', ');
    return `[${value.items.length} × ${TYPE_NAMES[value.itemType] ?? value.itemType}] ${head}${value.items.length > 6 ? ', …' : ''}`;
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes, not UTF-8>`;
  if (typeof value === 'string') return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
  return String(value);
}

function table(rows: string[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) out(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

function info(file: GgufFile): void {
  const facts = describeModel(file);
  out(`${file.path}`);
  out(`  GGUF v${file.version}, ${file.fileSize} bytes (${mib(file.fileSize)}), alignment ${file.alignment}, data at byte ${file.dataOffset}`);
  out(`  ${facts.architecture}, ${facts.parameters.toLocaleString('en-US')} parameters, ${facts.quantization}` +
    `${facts.trainContextSize ? `, trained context ${facts.trainContextSize}` : ''}${facts.randomWeights ? ', RANDOM WEIGHTS' : ''}`);
  out(`  INT8: ${needsQ8_0(file) ? 'float model, USE_INT8 serves a Q8_0 copy' : 'served as it is'}`);
  out();
  out(`Metadata (${file.metadata.length})`);
  table(file.metadata.map((e: GgufEntry) => [`  ${e.key}`, TYPE_NAMES[e.type] ?? String(e.type), show(e.value)]));
  out();
  out(`Tensors (${file.tensors.length})`);
  table([['  name', 'type', 'shape', 'bytes'], ...file.tensors.map((t) => [`  ${t.name}`, ggmlTypeName(t.type), t.dims.join(' × '), String(t.size)])]);
  const byType = new Map<string, { count: number; bytes: number }>();
  for (const t of file.tensors) {
    const entry = byType.get(ggmlTypeName(t.type)) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += t.size;
    byType.set(ggmlTypeName(t.type), entry);
  }
  out();
  out('By type');
  table([...byType].map(([type, { count, bytes }]) => [`  ${type}`, `${count} tensors`, mib(bytes)]));
}

function listSynthPresets(): void {
  const rows = SYNTH_PRESET_NAMES.map((name) => {
    const p = SYNTH_PRESETS[name];
    const size = synthModelSize(name);
    return [
      `  synth:${name}`,
      `${p.embd} wide, ${p.layers} layers, ${p.heads}/${p.kvHeads} heads, FFN ${p.ff}, vocab ${p.vocab}, context ${p.context}`,
      size.parameters.toLocaleString('en-US'),
      human(size.f32Bytes),
      human(size.q8_0Bytes),
    ];
  });
  table([['  preset', 'shape (heads/KV heads)', 'parameters', 'F32', 'Q8_0'], ...rows]);
  out();
  out('Random weights in these shapes: real cost per token and memory, but the text is noise.');
}

function synth(preset: SynthPresetName, target: string, seed: number): void {
  const started = performance.now();
  const progress = process.stderr.isTTY === true;
  const bytes = writeSynthModel(target, preset, seed, {
    onTensor: progress ? (done, total) => process.stderr.write(`\r  tensor ${done}/${total}`) : undefined,
  });
  if (progress) process.stderr.write('\r\x1b[K');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { parameters } = synthModelSize(preset);
  out(`${target}: synth:${preset} (${SYNTH_PRESETS[preset].description}), seed ${seed}, ${parameters.toLocaleString('en-US')} parameters, ` +
    `F32, ${bytes} bytes (${human(bytes)}) in ${seconds} s. Its output is noise.`);
}

/** A command line that cannot be run: one line on stderr, exit code 2. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { seed: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  const [command, ...args] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
    case 'info': {
      if (args.length !== 1) break;
      info(readGguf(path.resolve(args[0]!)));
      return 0;
    }
    case 'quantize': {
      if (args.length !== 2) break;
      const source = readGguf(path.resolve(args[0]!));
      if (!needsQ8_0(source)) throw new ModelError('already_quantized', `${source.path} is ${quantizationName(source)}, not a float model: nothing to quantize.`);
      const report = quantizeToQ8_0(source, path.resolve(args[1]!));
      out(`${report.target}: ${report.quantized} tensors quantized to Q8_0, ${report.kept} kept; ` +
        `${mib(report.sourceBytes)} → ${mib(report.targetBytes)} in ${Math.round(report.ms)} ms`);
      return 0;
    }
    case 'pull': {
      if (args.length !== 1 || !isRemoteModel(args[0]!)) break;
      const config = loadConfigOrExit();
      const interactive = process.stdout.isTTY === true;
      const logger = createLogger('model-cli', process.env.LOG_LEVEL ?? (interactive ? 'warn' : 'info'));
      const file = await downloadModel(args[0]!, path.resolve(config.MODELS_DIR), {
        logger,
        timeoutMs: config.MODEL_DOWNLOAD_TIMEOUT_MS,
        progressBar: interactive,
      });
      const facts = describeModel(readGguf(file));
      out(`${file}: ${facts.architecture}, ${facts.quantization}, ${mib(facts.sizeBytes)}`);
      return 0;
    }
    case 'tiny': {
      if (args.length !== 1) break;
      const seed = values.seed === undefined ? DEFAULT_TINY_SEED : Number(values.seed);
      if (!Number.isInteger(seed) || seed < 0) break;
      const target = path.resolve(args[0]!);
      const bytes = writeTinyModel(target, seed);
      out(`${target}: random-weight Llama (seed ${seed}), ${bytes} bytes. Its output is noise.`);
      return 0;
    }
    case 'synth': {
      if (args.length === 0 && values.seed === undefined) {
        listSynthPresets();
        return 0;
      }
      const preset = args[0] === undefined ? undefined : findSynthPreset(args[0]);
      if (args[0] !== undefined && preset === undefined) {
        throw new UsageError(`unknown synth preset "${args[0]}"; the presets are ${SYNTH_PRESET_NAMES.join(', ')}.`);
      }
      if (preset === undefined || args.length !== 2 || values.list) break;
      const seed = values.seed === undefined ? DEFAULT_SYNTH_SEED : Number(values.seed);
      if (!Number.isInteger(seed) || seed < 0) break;
      synth(preset, path.resolve(args[1]!), seed);
      return 0;
    }
  }
  process.stderr.write(USAGE);
  return 2;
}

// `npm run model -- info x.gguf | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof ModelError) && !(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
