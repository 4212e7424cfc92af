// Pool threads do not inherit tsx's loader from the main thread. When the worker runs from
// TypeScript sources (npm start, tests), each thread registers tsx itself, then loads the real
// thread module. The compiled build (dist/) points piscina at the .js module directly instead.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const thread = await import(workerData.entry);
export default thread.default;
