/**
 * The IDE's fetcher: queries and mutations over HTTP (POST /graphql), subscriptions over
 * graphql-ws on the same path. The headers editor's JSON reaches every request: HTTP sends them
 * as headers, and their Authorization (any case) also becomes the WebSocket's
 * connectionParams.authorization, which is how the server authenticates a socket
 * (src/http/websocket.ts). One graphql-ws client per distinct Authorization value, made on first
 * use and lazy (its socket opens with the first subscription and closes after the last).
 * A subscription the server answers with GraphQL errors (graphql-ws's `error` message: an
 * unknown run, a refused key) shows them in the result pane as `{ "errors": [...] }`, as HTTP
 * does; graphql-ws hands them over as a bare array, which the toolkit would rethrow unhandled.
 */
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts, type FetcherParams } from '@graphiql/toolkit';
import { createClient, type Client } from 'graphql-ws';

/** The code the server's errors carry while introspection is off (src/http/query-limits.ts). */
export const INTROSPECTION_DISABLED = 'query/introspection_disabled';

export const INTROSPECTION_DISABLED_NOTICE =
  'Introspection is disabled on this server (INTROSPECTION=0, the default with NODE_ENV=production), so the IDE has no schema: ' +
  'no completion, docs or validation. Queries, mutations and subscriptions still run. Ask the operator for schema/schema.graphql.';

export interface Endpoint {
  /** http(s)://host/graphql */
  url: string;
  /** ws(s)://host/graphql */
  subscriptionUrl: string;
}

export function endpointOf(loc: Pick<Location, 'origin' | 'host' | 'protocol'>): Endpoint {
  return { url: `${loc.origin}/graphql`, subscriptionUrl: `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/graphql` };
}

/** The Authorization header among the editor's headers (names are case-insensitive), or ''. */
export function authorizationOf(headers: FetcherOpts['headers'] | undefined): string {
  if (!headers) return '';
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === 'authorization' && v != null) return String(v);
  }
  return '';
}

interface ErrorsResult {
  errors?: { extensions?: { code?: unknown } }[];
}

function introspectionRefused(result: unknown): boolean {
  const errors = (result as ErrorsResult | null)?.errors;
  return Array.isArray(errors) && errors.some((e) => e?.extensions?.code === INTROSPECTION_DISABLED);
}

/** graphql-ws's client with its `error` message (GraphQLError[]) delivered as a result. */
export function errorsAsResults(client: Client): Client {
  return {
    ...client,
    subscribe(payload, sink) {
      return client.subscribe(payload, {
        next: (v) => sink.next(v as never),
        complete: () => sink.complete(),
        error: (e) => {
          if (Array.isArray(e)) {
            sink.next({ errors: e } as never);
            sink.complete();
          } else sink.error(e);
        },
      });
    },
  };
}

export interface IdeFetcherOptions extends Endpoint {
  /** told whether the schema could be loaded: false while introspection is off */
  onIntrospection?: (enabled: boolean) => void;
}

export function createIdeFetcher(opts: IdeFetcherOptions): Fetcher {
  const perAuthorization = new Map<string, Fetcher>();
  const fetcherFor = (authorization: string): Fetcher => {
    let f = perAuthorization.get(authorization);
    if (!f) {
      const wsClient = errorsAsResults(createClient({
        url: opts.subscriptionUrl,
        lazy: true,
        retryAttempts: 2,
        connectionParams: authorization ? { authorization } : {},
      }));
      f = createGraphiQLFetcher({ url: opts.url, wsClient });
      perAuthorization.set(authorization, f);
    }
    return f;
  };
  return (params: FetcherParams, fetcherOpts?: FetcherOpts) => {
    const f = fetcherFor(authorizationOf(fetcherOpts?.headers));
    if (params.operationName !== 'IntrospectionQuery') return f(params, fetcherOpts);
    // the schema: replace the server's refusal by a message saying what it means here
    return Promise.resolve(f(params, fetcherOpts)).then((result) => {
      if (introspectionRefused(result)) {
        opts.onIntrospection?.(false);
        return { errors: [{ message: INTROSPECTION_DISABLED_NOTICE, extensions: { code: INTROSPECTION_DISABLED } }] } as never;
      }
      return result;
    });
  };
}
