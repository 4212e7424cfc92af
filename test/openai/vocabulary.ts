import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import type { TestStack } from '../support/stack.ts';

/** The vocabulary of the model a stack's worker serves (loaded without weights), to name tokens by their text. */
export interface Vocabulary {
  model: LlamaModel;
  size: number;
  /** Ids of the tokens whose text is exactly `text`. */
  tokensOf(text: string): number[];
  dispose(): Promise<void>;
}

export async function loadVocabulary(stack: TestStack): Promise<Vocabulary> {
  if (!stack.worker) throw new Error('the stack has no worker, so no model');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: stack.worker.pool.model.path, vocabOnly: true });
  const size = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  return {
    model,
    size,
    tokensOf: (text) => Array.from({ length: size }, (_, id) => id).filter((id) => model.detokenize([id as Token]) === text),
    dispose: () => model.dispose(),
  };
}
