import type { GgufEntry } from './gguf-file.ts';
import { GgmlType, GgufValueType } from './gguf-types.ts';
import { writeGguf, type GgufTensorSpec } from './gguf-writer.ts';
import { TINY_MODEL_NAME } from './model-naming.ts';

/** Metadata flag of models whose weights are random: everything they write is noise. */
export const RANDOM_WEIGHTS_KEY = 'llm_orchestrator.random_weights';
export const DEFAULT_TINY_SEED = 20240;

/** Shape of the builtin model: small, but every row a whole Q8_0 block so INT8 applies to it too. */
const SHAPE = { embd: 64, layers: 2, heads: 4, kvHeads: 4, ff: 128, context: 2048 } as const;

/**
 * `<unk>`, `<s>`, `</s>`, one token per byte (llama.cpp's SentencePiece byte fallback spells any
 * text with them) and `▁`, SentencePiece's word boundary, so that text survives a round trip.
 */
function vocabulary() {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3]; // UNKNOWN, CONTROL, CONTROL
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6); // BYTE
  }
  tokens.push('\u2581');
  types.push(1); // NORMAL
  return { tokens, types };
}

/** Tokens the model may write: newline and printable ASCII (96, an even count), so its text is whole characters. */
const WRITABLE = [0x0a, ...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i)].map((byte) => 3 + byte);

/** mulberry32: a tiny deterministic generator, so the same seed writes the same bytes everywhere. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32Bytes = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

/**
 * Writes a random-weight Llama GGUF (F32, about 0.4 MB), deterministic from `seed`. Its output is
 * noise, but it exercises the whole path (tokenizer, llama.cpp, batching, streaming) on a machine
 * with no model at all, and greedy generation always runs to `max_tokens` in printable ASCII.
 */
export function writeTinyModel(file: string, seed = DEFAULT_TINY_SEED): number {
  const random = generator(seed);
  const { tokens, types } = vocabulary();
  const vocab = tokens.length;
  const { embd, layers, heads, kvHeads, ff, context } = SHAPE;
  const headDim = embd / heads;

  const uniform = (count: number, scale: number) => {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * scale;
    return values;
  };
  const ones = (count: number) => new Float32Array(count).fill(1);
  const tensor = (name: string, dims: number[], values: Float32Array): GgufTensorSpec => ({
    name,
    dims,
    type: GgmlType.F32,
    data: () => f32Bytes(values),
  });

  // Opposite rows per pair: for any hidden state one of the two scores above zero, where every
  // other token's (zero) row stays, so greedy never ends the text and sampling hardly does.
  const output = new Float32Array(embd * vocab);
  for (let i = 0; i < WRITABLE.length; i += 2) {
    const row = uniform(embd, 2);
    output.set(row, (WRITABLE[i] ?? 0) * embd);
    output.set(row.map((v) => -v), (WRITABLE[i + 1] ?? 0) * embd);
  }

  const scale = 1 / Math.sqrt(embd);
  const tensors: GgufTensorSpec[] = [
    tensor('token_embd.weight', [embd, vocab], uniform(embd * vocab, 1)),
    tensor('output_norm.weight', [embd], ones(embd)),
    tensor('output.weight', [embd, vocab], output),
  ];
  for (let layer = 0; layer < layers; layer++) {
    const blk = `blk.${layer}`;
    tensors.push(
      tensor(`${blk}.attn_norm.weight`, [embd], ones(embd)),
      tensor(`${blk}.attn_q.weight`, [embd, embd], uniform(embd * embd, scale)),
      tensor(`${blk}.attn_k.weight`, [embd, kvHeads * headDim], uniform(embd * kvHeads * headDim, scale)),
      tensor(`${blk}.attn_v.weight`, [embd, kvHeads * headDim], uniform(embd * kvHeads * headDim, scale)),
      tensor(`${blk}.attn_output.weight`, [embd, embd], uniform(embd * embd, scale)),
      tensor(`${blk}.ffn_norm.weight`, [embd], ones(embd)),
      tensor(`${blk}.ffn_gate.weight`, [embd, ff], uniform(embd * ff, scale)),
      tensor(`${blk}.ffn_up.weight`, [embd, ff], uniform(embd * ff, scale)),
      tensor(`${blk}.ffn_down.weight`, [ff, embd], uniform(ff * embd, 1 / Math.sqrt(ff))),
    );
  }

  const u32 = (key: string, value: number): GgufEntry => ({ key, type: GgufValueType.UINT32, value });
  const metadata: GgufEntry[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufValueType.STRING, value: TINY_MODEL_NAME },
    { key: 'general.description', type: GgufValueType.STRING, value: `Random weights (seed ${seed}): output is noise.` },
    u32('general.file_type', 0),
    u32('llama.context_length', context),
    u32('llama.embedding_length', embd),
    u32('llama.block_count', layers),
    u32('llama.feed_forward_length', ff),
    u32('llama.attention.head_count', heads),
    u32('llama.attention.head_count_kv', kvHeads),
    u32('llama.rope.dimension_count', headDim),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufValueType.FLOAT32, value: 1e-5 },
    { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, items: tokens } },
    { key: 'tokenizer.ggml.scores', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.FLOAT32, items: tokens.map(() => 0) } },
    { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: { itemType: GgufValueType.INT32, items: types } },
    u32('tokenizer.ggml.unknown_token_id', 0),
    u32('tokenizer.ggml.bos_token_id', 1),
    u32('tokenizer.ggml.eos_token_id', 2),
    { key: 'tokenizer.ggml.add_bos_token', type: GgufValueType.BOOL, value: true },
    { key: 'tokenizer.ggml.add_eos_token', type: GgufValueType.BOOL, value: false },
    { key: RANDOM_WEIGHTS_KEY, type: GgufValueType.BOOL, value: true },
    u32('llm_orchestrator.seed', seed >>> 0),
  ];
  return writeGguf(file, { version: 3, metadata, tensors });
}
