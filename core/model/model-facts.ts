import { metadataNumber, metadataString, metadataValue, type GgufFile } from './gguf-file.ts';
import { quantizationName } from './quantization.ts';
import { RANDOM_WEIGHTS_KEY } from './tiny-model.ts';

/** What a GGUF file is, read from its header in the main thread (no weights loaded). */
export interface ModelFacts {
  file: string;
  sizeBytes: number;
  architecture: string;
  /** Sum of all tensors' values. */
  parameters: number;
  /** `Q8_0`, `F32`, `Q4_K_M`, … */
  quantization: string;
  /** `general.file_type`, when the file says. */
  fileType: number | undefined;
  /** The context length the model was trained with. */
  trainContextSize: number | undefined;
  /** The weights are random (builtin:tiny): its output is noise. */
  randomWeights: boolean;
  hasChatTemplate: boolean;
  /** Layers and attention heads, when the header says: they size the KV cache of a sequence. */
  shape: ModelShape | undefined;
}

export interface ModelShape {
  layers: number;
  embedding: number;
  heads: number;
  kvHeads: number;
}

/** Bytes of KV cache one token of one sequence takes (keys and values, F16, every layer). */
export function kvBytesPerToken(shape: ModelShape): number {
  const headDim = shape.embedding / shape.heads;
  return 2 * shape.layers * shape.kvHeads * headDim * 2;
}

function shapeOf(file: GgufFile, architecture: string): ModelShape | undefined {
  const layers = metadataNumber(file, `${architecture}.block_count`);
  const embedding = metadataNumber(file, `${architecture}.embedding_length`);
  const heads = metadataNumber(file, `${architecture}.attention.head_count`);
  if (!layers || !embedding || !heads) return undefined;
  return { layers, embedding, heads, kvHeads: metadataNumber(file, `${architecture}.attention.head_count_kv`) ?? heads };
}

export function describeModel(file: GgufFile): ModelFacts {
  const architecture = metadataString(file, 'general.architecture') ?? 'unknown';
  return {
    file: file.path,
    sizeBytes: file.fileSize,
    architecture,
    parameters: file.tensors.reduce((sum, t) => sum + t.elements, 0),
    quantization: quantizationName(file),
    fileType: metadataNumber(file, 'general.file_type'),
    trainContextSize: metadataNumber(file, `${architecture}.context_length`),
    randomWeights: metadataValue(file, RANDOM_WEIGHTS_KEY) === true,
    hasChatTemplate: typeof metadataValue(file, 'tokenizer.chat_template') === 'string',
    shape: shapeOf(file, architecture),
  };
}
