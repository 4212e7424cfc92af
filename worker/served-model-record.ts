import path from 'node:path';
import type { ModelSource } from '../core/model/resolve.ts';
import type { ServedModel } from '../core/model/served-models.ts';
import type { InferencePool } from './inference-pool.ts';

/**
 * What this worker tells API processes about its model: the file's facts as the main thread read
 * them from the header, and what only the loaded pool knows (its context, chat template, embedding
 * size, load time).
 */
export function servedModelRecord(source: ModelSource, pool: Pick<InferencePool, 'model'>): ServedModel {
  return {
    id: source.id,
    file: path.basename(source.path),
    architecture: source.facts.architecture,
    parameters: source.facts.parameters,
    quantization: source.facts.quantization,
    file_type: source.facts.fileType ?? null,
    context_size: pool.model.contextSize,
    train_context_size: source.facts.trainContextSize ?? null,
    size_bytes: source.facts.sizeBytes,
    random_weights: source.facts.randomWeights,
    has_chat_template: pool.model.hasChatTemplate,
    embedding_size: pool.model.embeddingSize,
    load_ms: Math.round(pool.model.loadMs),
    loaded_at: Date.now(),
    fingerprint: source.fingerprint,
  };
}
