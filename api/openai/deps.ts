import type { Logger } from '../../core/logger.ts';
import type { JobService } from '../job-service.ts';
import type { ModelLanes } from '../model-lanes.ts';
import type { JobStateWatcher } from '../job-state-watcher.ts';
import type { JobStreamReader } from '../job-stream-reader.ts';
import type { StreamCap } from '../stream-cap.ts';
import type { JobHolders } from './job-holders.ts';

/** What the OpenAI-compatible routes run jobs with. */
export interface OpenAiDeps {
  jobs: JobService;
  streams: JobStreamReader;
  jobStates: JobStateWatcher;
  streamCap: StreamCap;
  holders: JobHolders;
  logger: Logger;
  /** The default model's shown id (a live value). */
  modelId: string;
  /** The deployment's models: requests' `model` resolved, ids shown, embedding sizes. */
  lanes: ModelLanes;
}
