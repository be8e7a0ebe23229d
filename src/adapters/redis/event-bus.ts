/**
 * The event bus over Redis pub/sub, for several server processes. Each instance holds one
 * publisher and one subscriber connection; a topic is the channel `<namespace>:<topic>`,
 * subscribed once per instance while it has local subscribers and fanned out locally, each
 * subscriber with its own unbounded queue. Payloads travel through src/events/codec.ts.
 * Delivery is Redis pub/sub's: at most once, lost while a connection is down; ioredis
 * reconnects and re-subscribes by itself.
 */
import Redis from 'ioredis';
import { decodePayload, encodePayload } from '../../events/codec';
import type { EventBus, Subscription } from '../../events/event-bus';
import { Channel } from '../../util/channel';

export interface RedisEventBusOptions {
  /** e.g. redis://127.0.0.1:6379 */
  url: string;
  /** Prefix of every channel name, so deployments (and tests) sharing a server stay apart. */
  namespace?: string;
}

/** One subscribed channel: its local subscribers and the SUBSCRIBE that made it live. */
interface Topic {
  readonly members: Set<Channel<unknown>>;
  readonly subscribed: Promise<void>;
}

export class RedisEventBus implements EventBus {
  readonly namespace: string;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly topics = new Map<string, Topic>();
  private failures = 0;
  private closing: Promise<void> | null = null;
  /** Resolves when close() starts: subscriptions still waiting for their SUBSCRIBE are ready. */
  private readonly closed: Promise<void>;
  private markClosed = () => {};

  /** Connects in the background; commands wait in ioredis's offline queue until it is up. */
  constructor(options: RedisEventBusOptions) {
    this.namespace = options.namespace ?? 'egsde';
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    const name = (role: string) => `${this.namespace}:events-${role}`.replace(/[^!-~]/g, '_');
    this.pub = new Redis(options.url, { connectionName: name('pub') });
    // a SUBSCRIBE waits out any outage instead of failing after ioredis's retry limit
    this.sub = new Redis(options.url, { connectionName: name('sub'), maxRetriesPerRequest: null });
    // ioredis reconnects by itself; without a listener it would print each error
    for (const c of [this.pub, this.sub]) c.on('error', () => {});
    this.sub.on('message', (channel: string, message: string) => this.deliver(channel, message));
  }

  /** A bus whose two connections are up; rejects (and closes it) if the first attempt fails. */
  static async connect(options: RedisEventBusOptions): Promise<RedisEventBus> {
    const bus = new RedisEventBus(options);
    try {
      await Promise.all([whenReady(bus.pub), whenReady(bus.sub)]);
    } catch (err) {
      await bus.close();
      throw err;
    }
    return bus;
  }

  /** Publishes that failed (encoding, connection, after close); publish itself never throws. */
  get publishFailures(): number {
    return this.failures;
  }

  publish(topic: string, payload: unknown): void {
    if (this.closing) {
      this.failures++;
      return;
    }
    let message: string;
    try {
      message = encodePayload(payload);
    } catch {
      this.failures++;
      return;
    }
    this.pub.publish(this.channelOf(topic), message).catch(() => this.failures++);
  }

  /**
   * `ready` resolves once Redis has acknowledged the topic's SUBSCRIBE (at once when another
   * local subscriber already holds it, or on close); it rejects only if Redis refuses the
   * SUBSCRIBE, and the subscription then ends.
   */
  subscribe(topic: string): Subscription {
    const ch = new Channel<unknown>();
    if (this.closing) {
      ch.close();
      return subscription(ch, Promise.resolve(), () => {});
    }
    const channel = this.channelOf(topic);
    const t = this.topics.get(channel) ?? this.listen(channel);
    t.members.add(ch);
    const leave = () => {
      if (!t.members.delete(ch) || t.members.size > 0 || this.topics.get(channel) !== t) return;
      this.topics.delete(channel);
      if (!this.closing) this.sub.unsubscribe(channel).catch(() => {});
    };
    const ready = Promise.race([t.subscribed, this.closed]);
    ready.catch(() => {}); // handled here, rejected for whoever awaits it
    return subscription(ch, ready, leave);
  }

  /** Quits both connections and ends every subscription; safe to call again. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.markClosed();
    for (const t of this.topics.values()) for (const ch of t.members) ch.close();
    this.topics.clear();
    await Promise.all([quit(this.pub), quit(this.sub)]);
  }

  private channelOf(topic: string): string {
    return `${this.namespace}:${topic}`;
  }

  /** Subscribes `channel` on the subscriber connection, for the first local subscriber. */
  private listen(channel: string): Topic {
    const members = new Set<Channel<unknown>>();
    const subscribed = this.sub.subscribe(channel).then(
      () => {},
      (err: unknown) => {
        if (this.closing) return;
        // not live: end its subscriptions, so that a later subscribe() tries again
        if (this.topics.get(channel)?.members === members) this.topics.delete(channel);
        for (const ch of members) ch.close();
        throw err;
      },
    );
    subscribed.catch(() => {}); // the error is each subscription's `ready` to report
    const t = { members, subscribed };
    this.topics.set(channel, t);
    return t;
  }

  private deliver(channel: string, message: string): void {
    const t = this.topics.get(channel);
    if (!t) return;
    let payload: unknown;
    try {
      payload = decodePayload(message);
    } catch {
      return; // not a message of this bus
    }
    for (const ch of t.members) ch.push(payload);
  }
}

function subscription(ch: Channel<unknown>, ready: Promise<void>, leave: () => void): Subscription {
  return {
    ready,
    [Symbol.asyncIterator]: () => {
      const it = ch[Symbol.asyncIterator]();
      return {
        next: () => it.next(),
        return: () => {
          leave();
          return it.return!();
        },
      };
    },
  };
}

/** Resolves when `client` is ready; rejects on an error before that. */
function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      client.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      client.off('ready', onReady);
      reject(err);
    };
    client.once('ready', onReady);
    client.once('error', onError);
  });
}

/** QUIT when connected (pending replies first), else drop the connection and stop retrying. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    const ended = new Promise((resolve) => client.once('end', resolve));
    try {
      await client.quit();
      await ended;
      return;
    } catch {
      // fall through
    }
  }
  client.disconnect();
}
