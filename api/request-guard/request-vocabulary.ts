import type { Request } from 'express';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { modelConfig, type Catalogue, type CatalogueModel } from '../../core/model/catalogue.ts';
import { isEmbeddingPath } from './prompt-limit.ts';
import { promptTokenizer, type PromptTokenizer, type RequestVocabulary } from './prompt-tokens.ts';

/**
 * Each model's vocabulary, read in the background at start (`vocabOnly`: megabytes, whatever the
 * model's size) for every model whose file the API can reach; a request is measured with the one
 * of the model its body names (id or alias; none: the default model). A model the API cannot read,
 * a name the catalogue does not know (the route answers 404) and generation asked of an embedding
 * model (the route answers 400) are left to the route and the workers.
 */
export function requestVocabulary(config: Config, catalogue: Catalogue, logger: Logger): RequestVocabulary {
  if (catalogue.single) {
    const only = promptTokenizer(config, logger);
    return async () => await only;
  }
  const byId = new Map<string, Promise<PromptTokenizer | undefined>>(
    catalogue.models.map((model): [string, Promise<PromptTokenizer | undefined>] => [model.id, promptTokenizer(modelConfig(config, model), logger)]),
  );
  return async (req) => {
    const model = modelOf(req, catalogue);
    if (!model || (model.kind === 'embedding' && !isEmbeddingPath(req.path))) return undefined;
    return await byId.get(model.id);
  };
}

function modelOf(req: Request, catalogue: Catalogue): CatalogueModel | undefined {
  const body: unknown = req.body;
  const name = typeof body === 'object' && body !== null && 'model' in body ? body.model : undefined;
  if (name === undefined || name === null) return catalogue.default;
  return typeof name === 'string' ? catalogue.find(name) : undefined;
}
