import { describe, expect, it } from 'vitest';
import type { ModelSource } from '../../core/model/resolve.ts';
import type { ModelInfo } from '../../worker/inference-protocol.ts';
import { servedModelRecord } from '../../worker/served-model-record.ts';

describe('the served-model record', () => {
  const source: ModelSource = {
    path: '/models/stories260K.Q8_0.gguf',
    id: 'stories260K:Q8_0',
    setting: '/models/stories260K.gguf',
    fingerprint: '5e3ba21802bf1d7c',
    facts: {
      file: '/models/stories260K.Q8_0.gguf',
      sizeBytes: 1_000_000,
      architecture: 'llama',
      parameters: 260_000,
      quantization: 'Q8_0',
      fileType: undefined,
      trainContextSize: undefined,
      randomWeights: false,
      hasChatTemplate: true,
    shape: undefined,
    },
  };
  const model = { contextSize: 512, hasChatTemplate: true, loadMs: 12.6, embeddingSize: 64 } as ModelInfo;

  it('takes the file facts from the source and what only the loaded model knows from the pool', () => {
    const before = Date.now();
    const record = servedModelRecord(source, { model });
    expect(record).toMatchObject({
      id: 'stories260K:Q8_0',
      file: 'stories260K.Q8_0.gguf',
      architecture: 'llama',
      parameters: 260_000,
      quantization: 'Q8_0',
      context_size: 512,
      size_bytes: 1_000_000,
      random_weights: false,
      has_chat_template: true,
      embedding_size: 64,
      load_ms: 13,
      fingerprint: '5e3ba21802bf1d7c',
    });
    expect(record.loaded_at).toBeGreaterThanOrEqual(before);
  });

  it('gives facts the header lacks as null, not undefined, so they survive JSON', () => {
    const record = servedModelRecord(source, { model });
    expect(record.file_type).toBeNull();
    expect(record.train_context_size).toBeNull();
  });
});
