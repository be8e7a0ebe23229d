/**
 * The GraphQL schema, built from the resolvers by type-graphql and emitted to
 * schema/schema.graphql (committed; a test fails when it drifts: `npm run schema:emit`).
 */
import 'reflect-metadata';
import * as path from 'path';
import { GraphQLSchema, printSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import type { EventBus } from '../events/event-bus';
import { PackResolver } from './pack.resolver';
import { RunResolver } from './run.resolver';
import { ErrorMiddleware } from './errors';

export const SCHEMA_FILE = path.join(__dirname, '..', '..', 'schema', 'schema.graphql');

export function buildAppSchema(bus: EventBus): GraphQLSchema {
  return buildSchemaSync({
    resolvers: [PackResolver, RunResolver],
    globalMiddlewares: [ErrorMiddleware],
    pubSub: {
      publish: (topic: string, payload: unknown) => bus.publish(topic, payload),
      subscribe: (topic: string) => bus.subscribe(topic),
    },
    validate: false,
  });
}

export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSchema(schema)}\n`;
}
