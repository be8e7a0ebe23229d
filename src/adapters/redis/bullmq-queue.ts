/**
 * The run queue over Redis with BullMQ (scale-out): API instances enqueue, engine workers take.
 *
 * One BullMQ queue per task (pack), `<prefix>:runs-<task>:…`, one job per run whose job id is the
 * run id, so enqueuing a run that is already waiting adds nothing. A job is removed the moment it
 * is taken, so a run put back QUEUED later can be enqueued again. Workers fetch jobs by hand: a
 * BullMQ Worker without a processor, `getNextJob(token, { block: false })` on the queue whose head
 * is oldest, then `moveToCompleted` at once; from there the run store's claim decides who runs the
 * run (at-least-once, ../../queue/run-queue.ts). A taker that dies between the two calls leaves
 * the job active; BullMQ's stalled checker (started on every consumer) puts it back.
 * Oldest first: FIFO within a task's queue; across a consumer's tasks, by the jobs' timestamps
 * (the producers' clocks). Wake-ups come from each queue's event stream (QueueEvents 'waiting').
 *
 * Connections: the producer's has no offline queue and a command timeout, so enqueue,
 * assertAvailable, take and length fail fast while Redis is down; a consumer's (Workers,
 * QueueEvents) waits for Redis and reconnects by itself. BullMQ duplicates the latter once per
 * Worker (a blocking connection it always opens, unused here) and once per QueueEvents, so a
 * consumer of n tasks holds 2 + 2n connections.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { CodedError } from '../../errors';
import type { QueuedRun, RunQueue } from '../../queue/run-queue';

export interface BullRunQueueOptions {
  /** redis://[[user]:password@]host[:port][/db] */
  url: string;
  /** namespace of the BullMQ keys (default 'egsde') */
  prefix?: string;
  /** the tasks (packs) whose runs this instance takes; none: a producer only (take() returns null) */
  tasks?: readonly string[];
  /** errors of the connections and of BullMQ (connection errors recur while Redis is down); default: ignored */
  onError?: (error: Error) => void;
}

interface RunJob {
  runId: string;
}

/** How long assertAvailable waits for a connection attempt under way. */
const READY_WAIT_MS = 500;
const PRODUCER_COMMAND_TIMEOUT_MS = 5000;
/** ioredis destroys a socket that has not closed this long after disconnect() (its 2 s default outlives a refused connection's socket and keeps the process up). */
const DISCONNECT_TIMEOUT_MS = 200;
const EVENTS_BLOCK_MS = 2000;
/** The longest close() waits for a BullMQ object to close (see bounded()). */
const CLOSE_WAIT_MS = 1000;

export class BullRunQueue implements RunQueue {
  private readonly prefix: string;
  private readonly tasks: readonly string[];
  private readonly onError: (error: Error) => void;
  private readonly producer: Redis;
  private readonly consumer: Redis | null;
  /** by task: those this instance enqueued to or takes from */
  private readonly queues = new Map<string, Queue<RunJob>>();
  private readonly workers = new Map<string, Worker<RunJob>>();
  private readonly events: QueueEvents[] = [];
  private readonly token = randomUUID();
  private readonly waiters = new Set<() => void>();
  /** the event streams are being read (a producer has none to read) */
  private listening: boolean;
  private closing: Promise<void> | null = null;

  constructor(options: BullRunQueueOptions) {
    this.prefix = options.prefix ?? 'egsde';
    this.tasks = [...new Set(options.tasks ?? [])];
    this.onError = options.onError ?? (() => undefined);
    this.producer = new Redis(options.url, {
      connectionName: `${this.prefix}:producer`,
      enableOfflineQueue: false,
      commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    });
    this.producer.on('error', this.onError);
    this.listening = this.tasks.length === 0;
    if (this.tasks.length === 0) {
      this.consumer = null;
      return;
    }
    // BullMQ requires maxRetriesPerRequest: null for workers: commands wait for Redis to return.
    const consumer = new Redis(options.url, {
      connectionName: `${this.prefix}:consumer`,
      maxRetriesPerRequest: null,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    });
    this.consumer = consumer;
    consumer.on('error', this.onError);
    for (const task of this.tasks) {
      const worker = new Worker<RunJob>(queueName(task), null, { connection: consumer, prefix: this.prefix, autorun: false });
      worker.on('error', this.onError);
      // Without run(), the stalled checker is ours to start (BullMQ "manually fetching jobs").
      worker.startStalledCheckTimer().catch(this.onError);
      this.workers.set(task, worker);
    }
    // Listen once Redis is there: a QueueEvents whose connection never came up cannot be closed.
    const attempt = () => {
      if (!this.closing) {
        this.listen().catch((e: Error) => {
          this.onError(e);
          consumer.once('ready', attempt);
        });
      }
    };
    consumer.once('ready', attempt);
  }

  async enqueue(run: QueuedRun): Promise<void> {
    if (this.closing) throw new CodedError('server/unavailable', 'the run queue is closed', { runId: run.id });
    await this.assertAvailable();
    await this.guard(() => this.queue(run.task).add('run', { runId: run.id }, { jobId: run.id, removeOnComplete: true, removeOnFail: true }));
    // other instances hear of it from the queue's events
    if (this.workers.has(run.task)) this.wake();
  }

  async take(): Promise<string | null> {
    if (this.closing || this.workers.size === 0) return null;
    await this.assertAvailable();
    const heads = await this.guard(() =>
      Promise.all(
        [...this.workers.keys()].map(async (task) => {
          const [head] = await this.queue(task).getWaiting(0, 0);
          return head ? { task, timestamp: head.timestamp } : null;
        }),
      ),
    );
    const oldestFirst = heads.filter((h) => h !== null).sort((x, y) => x.timestamp - y.timestamp);
    for (const { task } of oldestFirst) {
      const job = await this.workers.get(task)!.getNextJob(this.token, { block: false });
      // none: another worker took that queue's last job first (or this one is closing)
      if (!job) continue;
      await job.moveToCompleted(null, this.token, false);
      return job.data.runId;
    }
    return null;
  }

  async assertAvailable(): Promise<void> {
    if (this.ready()) return;
    // a connection attempt under way (first or again): it gets a moment; between attempts, no
    if (!this.closing && (this.producer.status === 'connecting' || this.producer.status === 'connect')) {
      // the attempt ends in 'ready' or 'close'
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.producer.off('ready', done).off('close', done);
          resolve();
        };
        const timer = setTimeout(done, READY_WAIT_MS);
        this.producer.once('ready', done).once('close', done);
      });
      if (this.ready()) return;
    }
    throw this.unavailable();
  }

  waitForWork(timeoutMs: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      this.checkForWork();
    });
  }

  async length(): Promise<number> {
    await this.assertAvailable();
    for (const task of this.tasks) this.queue(task);
    const counts = await this.guard(() => Promise.all([...this.queues.values()].map((q) => q.getWaitingCount())));
    return counts.reduce((a, b) => a + b, 0);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.wake();
      const parts = [...this.workers.values(), ...this.events, ...this.queues.values()];
      await Promise.allSettled(parts.map((p) => bounded(p.close())));
      this.producer.disconnect();
      this.consumer?.disconnect();
    })();
    return this.closing;
  }

  /**
   * Reads each task's event stream from the Redis clock's now (TIME), not from the stream's end
   * when the read starts, so no job added after this call is missed; waiters from before are
   * woken if jobs are waiting.
   */
  private async listen(): Promise<void> {
    const [seconds, micros] = await this.consumer!.time();
    const since = `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0`;
    if (this.closing) return;
    for (const task of this.tasks) {
      const events = new QueueEvents(queueName(task), {
        connection: this.consumer!,
        prefix: this.prefix,
        lastEventId: since,
        // each XREAD blocks this long; BullMQ's watchdog timer for a read stuck in an outage is
        // 1 s more and outlives close() (the default, 10 s, keeps the process up that long)
        blockingTimeout: EVENTS_BLOCK_MS,
      });
      events.on('error', this.onError);
      events.on('waiting', () => this.wake());
      this.events.push(events);
    }
    this.listening = true;
    this.checkForWork();
  }

  /** Jobs added before a wait began are not in the events it will see: count them. */
  private checkForWork(): void {
    if (this.closing || !this.listening || !this.ready() || this.tasks.length === 0) return;
    Promise.all(this.tasks.map((t) => this.queue(t).getWaitingCount())).then(
      (counts) => counts.some((n) => n > 0) && this.wake(),
      () => undefined,
    );
  }

  private queue(task: string): Queue<RunJob> {
    let queue = this.queues.get(task);
    if (!queue) {
      queue = new Queue<RunJob>(queueName(task), { connection: this.producer, prefix: this.prefix });
      queue.on('error', this.onError);
      this.queues.set(task, queue);
    }
    return queue;
  }

  /** A failure because Redis went away mid-call is 'server/unavailable' too. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!this.ready()) throw this.unavailable(e);
      throw e;
    }
  }

  private ready(): boolean {
    return this.producer.status === 'ready';
  }

  private unavailable(cause?: unknown): CodedError {
    return new CodedError('server/unavailable', 'the run queue (Redis) is unreachable; try again shortly', { status: this.producer.status }, { cause });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * QueueEvents.close() waits for its connection's 'end', which ioredis never emits for a connection
 * dropped between reconnect attempts (it is closed all the same, its retry timer cleared): while
 * Redis is down it would wait forever.
 */
function bounded(closing: Promise<void>): Promise<void> {
  return Promise.race([closing, new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
}

function queueName(task: string): string {
  return `runs-${task}`;
}
