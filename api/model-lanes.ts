import type { QueueEvents } from 'bullmq';
import { AppError } from '../core/errors.ts';
import type { AdmissionTrigger } from '../core/fair/admission-trigger.ts';
import type { FairQueue } from '../core/fair/fair-queue.ts';
import type { Catalogue, CatalogueModel } from '../core/model/catalogue.ts';
import type { ServedModelView } from '../core/model/served-models.ts';
import type { GenerateQueue } from '../core/queue.ts';

/** Everything the API holds for one model: its queue, the queue's events and its fair schedule. */
export interface ModelLane {
  readonly model: CatalogueModel;
  readonly queue: GenerateQueue;
  readonly events: QueueEvents;
  readonly fair: FairQueue;
  readonly admission: AdmissionTrigger;
}

/** BullMQ's states of a job that exists (`getJobState`), or `unknown`. */
export type FoundState = Awaited<ReturnType<GenerateQueue['getJobState']>>;

/**
 * The models of the deployment as the API routes to them (docs/models.md): a request's `model`
 * names a lane (by id or alias), and a job id is found in whichever lane's queue holds it.
 */
export class ModelLanes {
  private readonly byId: Map<string, ModelLane>;
  private readonly byQueue: Map<string, ModelLane>;

  constructor(
    readonly catalogue: Catalogue,
    readonly lanes: readonly ModelLane[],
    private readonly served: ServedModelView,
    /** CONTEXT_SIZE: a model's context when its entry sets none, for its cache identity before a worker reported it. */
    private readonly defaultContextSize: number,
  ) {
    this.byId = new Map(lanes.map((lane) => [lane.model.id, lane]));
    this.byQueue = new Map(lanes.map((lane) => [lane.queue.name, lane]));
  }

  get default(): ModelLane {
    return this.lane(this.catalogue.default.id);
  }

  /** The lane of a catalogue id (a submission's `model`); the default one for none. */
  lane(id: string | undefined): ModelLane {
    const lane = id === undefined ? undefined : this.byId.get(id);
    return lane ?? this.byId.get(this.catalogue.default.id)!;
  }

  /** The lane of a job (by its queue's name). */
  ofJob(job: { queueName: string }): ModelLane {
    return this.byQueue.get(job.queueName) ?? this.default;
  }

  /**
   * The catalogue id a request's `model` names: an id or alias of the models file, or without one
   * the served model's id or name (`stories260K:Q8_0`, `stories260K`). Undefined asks for the
   * default model. Anything else is `404 model_not_found`, in OpenAI's shape on `/v1`. A model of
   * `kind: embedding` computes embeddings only: asked to generate, it is `400 model_not_supported`.
   */
  resolve(name: string | undefined, purpose: 'generate' | 'embed' = 'generate'): string {
    const { catalogue } = this;
    if (name === undefined) return catalogue.default.id;
    if (catalogue.single) {
      const id = this.served.id();
      const bare = id.includes(':') ? id.slice(0, id.lastIndexOf(':')) : id;
      if (name === id || name === bare) return catalogue.default.id;
      throw modelNotFound(name, `this server serves '${id}'`);
    }
    const model = catalogue.find(name);
    if (!model) throw modelNotFound(name, `this server serves ${catalogue.models.map((m) => `'${m.id}'`).join(', ')}`);
    if (purpose === 'generate' && model.kind === 'embedding') {
      throw new AppError(400, 'model_not_supported', `The model '${name}' is an embedding model: it serves /v1/embeddings, not text generation.`, { param: 'model' });
    }
    return model.id;
  }

  /** The id clients see for a catalogue id: the models file's, or without one the id the worker reports. */
  shownId(id: string | undefined): string {
    return this.catalogue.single ? this.served.id() : this.lane(id).model.id;
  }

  /** Reads the workers' reports now if model `id` has none yet (`ServedModelView.ensureReported`). */
  async ensureReported(id: string): Promise<void> {
    await this.served.ensureReported(this.catalogue.single ? undefined : id);
  }

  /** What a model's results are cached under (`ServedModelView.cacheIdentity`). */
  cacheIdentity(id: string): string {
    if (this.catalogue.single) return this.served.cacheIdentity();
    const model = this.lane(id).model;
    return this.served.cacheIdentity(model.id, model.context_size ?? this.defaultContextSize);
  }

  /** A model's embedding vector size, once a worker that loaded it has reported it. */
  embeddingSize(id: string | undefined): number | undefined {
    return this.catalogue.single ? this.served.embeddingSize() : this.served.embeddingSize(this.lane(id).model.id);
  }

  /**
   * The lane whose queue holds job `id`, and the job's state there: one state script per model,
   * sent together. Ids are UUIDs, so at most one queue holds a given id.
   */
  async locate(id: string): Promise<{ lane: ModelLane; state: FoundState } | undefined> {
    if (this.lanes.length === 1) {
      const lane = this.lanes[0]!;
      const state = await lane.queue.getJobState(id);
      return state === 'unknown' ? undefined : { lane, state };
    }
    const states = await Promise.all(this.lanes.map((lane) => lane.queue.getJobState(id)));
    const at = states.findIndex((state) => state !== 'unknown');
    return at < 0 ? undefined : { lane: this.lanes[at]!, state: states[at]! };
  }

  /** Jobs waiting in every model's queue (the API's backpressure, MAX_QUEUE_DEPTH). */
  async waitingJobs(): Promise<number> {
    const counts = await Promise.all(this.lanes.map((lane) => lane.queue.getJobCounts('wait', 'paused', 'prioritized', 'delayed')));
    return counts.reduce((sum, count) => sum + Object.values(count).reduce((a, b) => a + b, 0), 0);
  }
}

function modelNotFound(name: string, served: string): AppError {
  return new AppError(404, 'model_not_found', `The model '${name}' does not exist; ${served} (see GET /v1/models).`, { param: 'model' });
}

/** What request mapping needs of the lanes: a request's `model` resolved, and the id to show for it. */
export type ModelResolver = Pick<ModelLanes, 'resolve' | 'shownId'>;
