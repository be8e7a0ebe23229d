import type { RunService } from '../services/run-service';
import type { Dispatcher } from '../services/dispatcher';
import type { Engine } from '../engine';
import type { RunQueue } from '../queue/run-queue';
import type { EventBus } from '../events/event-bus';
import type { AppConfig } from '../config';

export interface AppServices {
  runs: RunService;
  dispatcher: Dispatcher;
  engine: Engine;
  queue: RunQueue;
  bus: EventBus;
  config: AppConfig;
}

export interface GraphQLContext {
  services: AppServices;
}
