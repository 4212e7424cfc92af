import type { GgufEntry } from './gguf-file.ts';
import { GgmlType, GgufValueType, QUANTIZATION_VERSION } from './gguf-types.ts';
import { alignmentOf, layoutTensors, serializeHeader, writeGguf, type GgufSpec, type GgufTensorSpec } from './gguf-writer.ts';
import { synthModelName } from './model-naming.ts';
import { isQ8_0Candidate } from './quantization.ts';
import {
  baseVocabulary,
  BOS_ID,
  byteTokenId,
  EOS_ID,
  f32Bytes,
  Mulberry32,
  randomLlamaMetadata,
  WORD_BOUNDARY,
  WRITABLE_BYTES,
  TokenType,
  UNK_ID,
} from './random-llama.ts';
import { SYNTH_PRESETS, type SynthPreset, type SynthPresetName } from './synth-presets.ts';

/**
 * `synth:<preset>`: random weights in the shape of a real model (Qwen2.5 0.5B, Llama 3.2 1B/3B),
 * so that the system can be measured with a real model's cost per token and memory on a machine
 * that cannot download one. Its text is noise.
 */

export { SYNTH_PRESET_NAMES, SYNTH_PRESETS, findSynthPreset, type SynthPreset, type SynthPresetName } from './synth-presets.ts';

export const DEFAULT_SYNTH_SEED = 1;
/** Metadata key naming the preset a synth model was written from. */
export const SYNTH_PRESET_KEY = 'llm_orchestrator.synth_preset';

/**
 * The vocabulary: the base tokens (`<unk>`, `<s>`, `</s>`, 256 bytes, `▁`), then `▁a` … `▁z`,
 * `▁aa` … up to the preset's size. Every prefix of a word is a token too, so SentencePiece merges
 * lowercase words into whole tokens. Scores fall with rank (shorter words first).
 */
export function synthVocabulary(size: number): { tokens: string[]; types: number[]; scores: number[] } {
  const { tokens, types } = baseVocabulary();
  const scores = tokens.map(() => 0);
  for (let rank = 0; tokens.length < size; rank++) {
    let n = rank + 1;
    let word = '';
    while (n > 0) {
      n -= 1;
      word = String.fromCharCode(0x61 + (n % 26)) + word;
      n = Math.floor(n / 26);
    }
    tokens.push(WORD_BOUNDARY + word);
    types.push(TokenType.NORMAL);
    scores.push(-(rank + 1));
  }
  return { tokens, types, scores };
}

export interface SynthWriteOptions {
  /** Called as each tensor's data is made, before it is written (a lock holder refreshes its lock there). */
  onTensor?: (done: number, total: number) => void;
}

/** Header and tensors of a synth model, each tensor's data made only when it is written. */
function synthSpec(presetName: SynthPresetName, seed: number, options: SynthWriteOptions = {}): GgufSpec {
  const preset: SynthPreset = SYNTH_PRESETS[presetName];
  const { embd, layers, heads, kvHeads, ff, vocab } = preset;
  const kvWidth = kvHeads * (embd / heads);
  const vocabulary = synthVocabulary(vocab);

  // One generator per tensor, seeded from the model's: a tensor's values do not depend on the
  // order in which the others are made.
  const seeds = new Mulberry32(seed);
  const specs: GgufTensorSpec[] = [];
  const add = (name: string, dims: number[], fill: (values: Float32Array, random: Mulberry32) => void) => {
    const tensorSeed = seeds.nextUint32();
    const index = specs.length;
    specs.push({
      name,
      dims,
      type: GgmlType.F32,
      data: () => {
        const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
        fill(values, new Mulberry32(tensorSeed));
        options.onTensor?.(index + 1, specs.length);
        return f32Bytes(values);
      },
    });
  };
  const ones = (values: Float32Array) => void values.fill(1);
  const uniform = (scale: number) => (values: Float32Array, random: Mulberry32) => void random.fillUniform(values, scale);

  add('token_embd.weight', [embd, vocab], (values, random) => tiedEmbedding(values, random, embd, vocab));
  add('output_norm.weight', [embd], ones);
  const scale = 1 / Math.sqrt(embd);
  for (let layer = 0; layer < layers; layer++) {
    const blk = `blk.${layer}`;
    add(`${blk}.attn_norm.weight`, [embd], ones);
    add(`${blk}.attn_q.weight`, [embd, embd], uniform(scale));
    add(`${blk}.attn_k.weight`, [embd, kvWidth], uniform(scale));
    add(`${blk}.attn_v.weight`, [embd, kvWidth], uniform(scale));
    add(`${blk}.attn_output.weight`, [embd, embd], uniform(scale));
    add(`${blk}.ffn_norm.weight`, [embd], ones);
    add(`${blk}.ffn_gate.weight`, [embd, ff], uniform(scale));
    add(`${blk}.ffn_up.weight`, [embd, ff], uniform(scale));
    add(`${blk}.ffn_down.weight`, [ff, embd], uniform(1 / Math.sqrt(ff)));
  }

  const metadata = randomLlamaMetadata({
    name: synthModelName(presetName),
    description: `Random weights (seed ${seed}) in the shape of ${preset.description}: output is noise.`,
    seed,
    shape: preset,
    vocabulary,
    extra: [{ key: SYNTH_PRESET_KEY, type: GgufValueType.STRING, value: presetName }],
  });
  return { version: 3, metadata, tensors: specs };
}

/**
 * The token embedding, which llama.cpp also uses as the output matrix (there is no
 * `output.weight`), so a row decides both what a token feeds in and how it scores.
 *
 * - Rows of `<unk>`, `</s>` and of every byte that is not newline or printable ASCII are zero: they
 *   score 0 while the best of thousands of random rows scores above it, so greedy decoding never
 *   ends the text and never writes anything but printable ASCII.
 * - `<s>` keeps a random row r, so that the hidden state is never all zero (a prompt made only of
 *   zero-row tokens, say non-ASCII text, would otherwise tie every score at 0 and pick `<unk>`);
 *   the last two tokens get 2r and -2r, one of which scores above `<s>` for any hidden state.
 * - The scale is 1/sqrt(embd), the scale of the hidden state's own contributions: larger, a token's
 *   own row would dominate its output and greedy text would repeat the last token forever.
 */
function tiedEmbedding(values: Float32Array, random: Mulberry32, embd: number, vocab: number): void {
  random.fillUniform(values, 1 / Math.sqrt(embd));
  const writable = new Set(WRITABLE_BYTES);
  const silent = [UNK_ID, EOS_ID];
  for (let byte = 0; byte < 256; byte++) if (!writable.has(byte)) silent.push(byteTokenId(byte));
  for (const id of silent) values.fill(0, id * embd, (id + 1) * embd);
  const bos = values.subarray(BOS_ID * embd, (BOS_ID + 1) * embd);
  const [up, down] = [vocab - 2, vocab - 1];
  for (let i = 0; i < embd; i++) {
    values[up * embd + i] = 2 * bos[i]!;
    values[down * embd + i] = -2 * bos[i]!;
  }
}

/**
 * Writes `synth-<preset>` as an F32 GGUF (architecture `llama`, tied output embedding), random
 * weights deterministic from `seed`. Streams tensor by tensor: memory holds one tensor at a time
 * (the largest is the token embedding: 0.5 GB for qwen2.5-0.5b, 1.6 GB for llama-3b), never the
 * file. Returns the file size.
 */
export function writeSynthModel(file: string, preset: SynthPresetName, seed = DEFAULT_SYNTH_SEED, options: SynthWriteOptions = {}): number {
  return writeGguf(file, synthSpec(preset, seed, options));
}

export interface SynthModelSize {
  /** Values in all tensors. */
  parameters: number;
  /** The F32 file `writeSynthModel` writes. */
  f32Bytes: number;
  /** Its Q8_0 copy as the project's quantizer writes it (without the provenance USE_INT8 adds). */
  q8_0Bytes: number;
}

const QUANTIZATION_VERSION_ENTRY: GgufEntry = { key: 'general.quantization_version', type: GgufValueType.UINT32, value: QUANTIZATION_VERSION };

/** A GGUF file's size as `writeGguf` writes it: header, padding, then each tensor's data padded. */
function fileSize(headerBytes: number, tensors: GgufTensorSpec[], alignment: number): number {
  const align = (n: number) => Math.ceil(n / alignment) * alignment;
  const layout = layoutTensors(tensors, alignment);
  const last = layout[layout.length - 1];
  return align(headerBytes) + (last ? align(last.offset + last.size) : 0);
}

/** Parameters and file sizes of a preset, computed from its header alone (nothing is written). */
export function synthModelSize(preset: SynthPresetName): SynthModelSize {
  const spec = synthSpec(preset, DEFAULT_SYNTH_SEED);
  const header = serializeHeader(spec).length;
  // The quantizer sets file_type in place (same size), appends quantization_version, and changes
  // tensor types (same size): its header is longer by that one entry.
  const added = serializeHeader({ metadata: [QUANTIZATION_VERSION_ENTRY], tensors: [] }).length - serializeHeader({ metadata: [], tensors: [] }).length;
  const q8_0Tensors = spec.tensors.map((t) => ({ ...t, type: isQ8_0Candidate(t) ? GgmlType.Q8_0 : t.type }));
  return {
    parameters: spec.tensors.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0),
    f32Bytes: fileSize(header, spec.tensors, alignmentOf(spec.metadata)),
    q8_0Bytes: fileSize(header + added, q8_0Tensors, alignmentOf(spec.metadata)),
  };
}
