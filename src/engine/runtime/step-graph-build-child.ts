/**
 * Child process: build one step graph into a folder (step-graph-files.ts), report, exit. A build
 * of 256 px models holds about 1 GB of JavaScript copies; in a process of its own all of it goes
 * back to the system when it exits (freed memory of a thread stays in the parent's malloc arenas).
 */
import { isEngineError } from '../errors';
import { StepGraphJob, writeStepGraph } from './step-graph-files';

process.once('message', (m: { job: StepGraphJob; dir: string }) => {
  let reply;
  try {
    reply = { ok: true, written: writeStepGraph(m.job, m.dir) };
  } catch (e) {
    reply = { ok: false, error: isEngineError(e) ? e.toData() : { code: 'engine/invalid_model', message: (e as Error).message, details: {} } };
  }
  process.send!(reply, () => process.exit(0));
});
