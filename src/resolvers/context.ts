import type { RunService } from '../services/run-service';
import type { Dispatcher } from '../services/dispatcher';
import type { PackCatalog } from '../services/pack-catalog';
import type { Engine } from '../engine';
import type { RunQueue } from '../queue/run-queue';
import type { EventBus } from '../events/event-bus';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import type { Authenticator, Principal } from '../auth/principal';
import type { UrlSigner } from '../auth/url-signer';

export interface AppServices {
  runs: RunService;
  /** this process's engine and its dispatcher; absent on an API instance (ENGINE=off) */
  dispatcher?: Dispatcher;
  engine?: Engine;
  /** packs and the engine workers that serve them */
  catalog: PackCatalog;
  queue: RunQueue;
  bus: EventBus;
  config: AppConfig;
  /** API keys -> principals (HTTP and WebSocket alike) */
  auth: Authenticator;
  /** signed, expiring image URLs */
  urls: UrlSigner;
}

/** One per HTTP request or WebSocket operation. */
export interface GraphQLContext {
  services: AppServices;
  /** names the request in logs and in masked errors */
  requestId: string;
  log: Logger;
  /** the caller, authenticated before the operation runs */
  principal: Principal;
}
