import type { RunService } from '../services/run-service';
import type { Dispatcher } from '../services/dispatcher';
import type { Engine } from '../engine';
import type { RunQueue } from '../queue/run-queue';
import type { EventBus } from '../events/event-bus';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';

export interface AppServices {
  runs: RunService;
  dispatcher: Dispatcher;
  engine: Engine;
  queue: RunQueue;
  bus: EventBus;
  config: AppConfig;
}

/** One per HTTP request or WebSocket operation. */
export interface GraphQLContext {
  services: AppServices;
  /** names the request in logs and in masked errors */
  requestId: string;
  log: Logger;
}
