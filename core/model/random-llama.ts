import type { GgufEntry } from './gguf-file.ts';
import { GgufValueType } from './gguf-types.ts';

/**
 * What the random-weight Llama writers (builtin:tiny, synth:<preset>) share: the generator, the
 * SentencePiece base vocabulary and the GGUF metadata of a `llama` model.
 */

/** Metadata flag of models whose weights are random: everything they write is noise. */
export const RANDOM_WEIGHTS_KEY = 'llm_orchestrator.random_weights';
/** Metadata key of the seed a random-weight model was written from. */
export const SEED_KEY = 'llm_orchestrator.seed';

/** llama.cpp's token types (`llama_token_type`). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

/** Ids of the base vocabulary: `<unk>`, `<s>`, `</s>`, then one token per byte, then `▁`. */
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const byteTokenId = (byte: number) => 3 + byte;
export const WORD_BOUNDARY_ID = byteTokenId(256);
export const BASE_VOCAB_SIZE = WORD_BOUNDARY_ID + 1;

/** SentencePiece's word boundary, which llama.cpp turns into a space. */
export const WORD_BOUNDARY = '\u2581';

/**
 * `<unk>`, `<s>`, `</s>`, one token per byte (llama.cpp's SentencePiece byte fallback spells any
 * text with them) and `▁`, SentencePiece's word boundary, so that text survives a round trip.
 */
export function baseVocabulary(): { tokens: string[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TokenType.BYTE);
  }
  tokens.push(WORD_BOUNDARY);
  types.push(TokenType.NORMAL);
  return { tokens, types };
}

/** Bytes whose tokens may be written: newline and printable ASCII (96, an even count). */
export const WRITABLE_BYTES: readonly number[] = [0x0a, ...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i)];

/**
 * mulberry32: a tiny deterministic generator, so the same seed writes the same bytes everywhere.
 * `fillUniform` is the same sequence as `next()` with the arithmetic inlined: a loop over hundreds
 * of millions of weights may not pay a call per value.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A 32-bit unsigned integer (a seed for another generator). */
  nextUint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** Fills `values` with uniform numbers in (-scale, scale): `(next() * 2 - 1) * scale` each. */
  fillUniform(values: Float32Array, scale: number): Float32Array {
    let state = this.state;
    const n = values.length;
    for (let i = 0; i < n; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      values[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
    }
    this.state = state;
    return values;
  }
}

export const f32Bytes = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

/** The shape of a Llama-architecture model, as llama.cpp reads it from `llama.*` metadata. */
export interface LlamaShape {
  embd: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ff: number;
  context: number;
  rmsEps: number;
  /** `llama.rope.freq_base`; llama.cpp's default (10000) when absent. */
  ropeFreqBase?: number;
}

export interface RandomLlamaDescription {
  name: string;
  description: string;
  seed: number;
  shape: LlamaShape;
  vocabulary: { tokens: string[]; types: number[]; scores: number[] };
  /** Entries appended after the seed. */
  extra?: GgufEntry[];
}

/** The metadata of an F32 random-weight `llama` GGUF with a SentencePiece (`llama`) tokenizer. */
export function randomLlamaMetadata(model: RandomLlamaDescription): GgufEntry[] {
  const { embd, layers, heads, kvHeads, ff, context, rmsEps, ropeFreqBase } = model.shape;
  const { tokens, types, scores } = model.vocabulary;
  const u32 = (key: string, value: number): GgufEntry => ({ key, type: GgufValueType.UINT32, value });
  const array = (key: string, itemType: number, items: Array<string | number>): GgufEntry => ({ key, type: GgufValueType.ARRAY, value: { itemType, items } });
  return [
    { key: 'general.architecture', type: GgufValueType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufValueType.STRING, value: model.name },
    { key: 'general.description', type: GgufValueType.STRING, value: model.description },
    u32('general.file_type', 0),
    u32('llama.context_length', context),
    u32('llama.embedding_length', embd),
    u32('llama.block_count', layers),
    u32('llama.feed_forward_length', ff),
    u32('llama.attention.head_count', heads),
    u32('llama.attention.head_count_kv', kvHeads),
    u32('llama.rope.dimension_count', embd / heads),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufValueType.FLOAT32, value: rmsEps },
    ...(ropeFreqBase === undefined ? [] : [{ key: 'llama.rope.freq_base', type: GgufValueType.FLOAT32, value: ropeFreqBase }]),
    { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'llama' },
    array('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
    array('tokenizer.ggml.scores', GgufValueType.FLOAT32, scores),
    array('tokenizer.ggml.token_type', GgufValueType.INT32, types),
    u32('tokenizer.ggml.unknown_token_id', UNK_ID),
    u32('tokenizer.ggml.bos_token_id', BOS_ID),
    u32('tokenizer.ggml.eos_token_id', EOS_ID),
    { key: 'tokenizer.ggml.add_bos_token', type: GgufValueType.BOOL, value: true },
    { key: 'tokenizer.ggml.add_eos_token', type: GgufValueType.BOOL, value: false },
    { key: RANDOM_WEIGHTS_KEY, type: GgufValueType.BOOL, value: true },
    u32(SEED_KEY, model.seed >>> 0),
    ...(model.extra ?? []),
  ];
}
