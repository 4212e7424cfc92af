import { GgmlType } from './gguf-types.ts';
import { writeGguf, type GgufTensorSpec } from './gguf-writer.ts';
import { TINY_MODEL_NAME } from './model-naming.ts';
import { baseVocabulary, byteTokenId, f32Bytes, Mulberry32, randomLlamaMetadata, WRITABLE_BYTES, type LlamaShape } from './random-llama.ts';

export { RANDOM_WEIGHTS_KEY } from './random-llama.ts';
export const DEFAULT_TINY_SEED = 20240;

/** Shape of the builtin model: small, but every row a whole Q8_0 block so INT8 applies to it too. */
const SHAPE: LlamaShape = { embd: 64, layers: 2, heads: 4, kvHeads: 4, ff: 128, context: 2048, rmsEps: 1e-5 };

/** Tokens the model may write: newline and printable ASCII (96, an even count), so its text is whole characters. */
const WRITABLE = WRITABLE_BYTES.map(byteTokenId);

/**
 * Writes a random-weight Llama GGUF (F32, about 0.4 MB), deterministic from `seed`. Its output is
 * noise, but it exercises the whole path (tokenizer, llama.cpp, batching, streaming) on a machine
 * with no model at all, and greedy generation always runs to `max_tokens` in printable ASCII.
 */
export function writeTinyModel(file: string, seed = DEFAULT_TINY_SEED): number {
  const random = new Mulberry32(seed);
  const { tokens, types } = baseVocabulary();
  const vocab = tokens.length;
  const { embd, layers, heads, kvHeads, ff } = SHAPE;
  const headDim = embd / heads;

  const uniform = (count: number, scale: number) => random.fillUniform(new Float32Array(count), scale);
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

  const metadata = randomLlamaMetadata({
    name: TINY_MODEL_NAME,
    description: `Random weights (seed ${seed}): output is noise.`,
    seed,
    shape: SHAPE,
    vocabulary: { tokens, types, scores: tokens.map(() => 0) },
  });
  return writeGguf(file, { version: 3, metadata, tensors });
}
