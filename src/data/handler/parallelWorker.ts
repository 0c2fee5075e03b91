/** Worker-thread entry of parallel.ts: reopens the provider and computes blocks until none is left. */
import { LocalProvider } from '../provider/localProvider.ts';
import { workBlocks, type WorkerJob } from './parallel.ts';

export function workerMain(job: WorkerJob): void {
  const source = new LocalProvider(job.root, { freq: job.freq });
  workBlocks(job, source);
}
