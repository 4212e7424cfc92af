import type { LlamaShape } from './random-llama.ts';

/**
 * Shapes of real models for `synth:<preset>`: random weights in the shape (and so the cost per
 * token and the memory) of a model people serve. Data only, so that naming a synth model needs no
 * writer.
 */
export interface SynthPreset extends LlamaShape {
  vocab: number;
  /** What the shape is taken from. */
  description: string;
}

export const SYNTH_PRESETS = {
  // Qwen2 has biases on q, k and v (1,152 values a layer, 27,648 in all): omitted, since the
  // `llama` architecture has none and they cost nothing measurable.
  'qwen2.5-0.5b': {
    description: 'Qwen2.5 0.5B (without its q/k/v biases)',
    embd: 896, layers: 24, heads: 14, kvHeads: 2, ff: 4864, vocab: 151936, context: 32768, ropeFreqBase: 1e6, rmsEps: 1e-6,
  },
  'llama-1b': {
    description: 'Llama 3.2 1B',
    embd: 2048, layers: 16, heads: 32, kvHeads: 8, ff: 8192, vocab: 128256, context: 131072, ropeFreqBase: 500000, rmsEps: 1e-5,
  },
  'llama-3b': {
    description: 'Llama 3.2 3B',
    embd: 3072, layers: 28, heads: 24, kvHeads: 8, ff: 8192, vocab: 128256, context: 131072, ropeFreqBase: 500000, rmsEps: 1e-5,
  },
  // A few megabytes for tests and CI; every row a whole Q8_0 block, so INT8 applies to it too.
  micro: {
    description: 'a few-MB Llama for tests',
    embd: 256, layers: 4, heads: 4, kvHeads: 2, ff: 512, vocab: 8192, context: 4096, ropeFreqBase: 10000, rmsEps: 1e-5,
  },
} as const satisfies Record<string, SynthPreset>;

export type SynthPresetName = keyof typeof SYNTH_PRESETS;

export const SYNTH_PRESET_NAMES = Object.keys(SYNTH_PRESETS) as SynthPresetName[];

/** The preset of that name (any case), or undefined. */
export function findSynthPreset(name: string): SynthPresetName | undefined {
  const lower = name.toLowerCase();
  return SYNTH_PRESET_NAMES.find((preset) => preset === lower);
}
