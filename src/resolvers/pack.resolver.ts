import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from './context';
import { serviceStatus } from '../services/engine-status';
import { EngineStatusType, PackType, toEngineStatusType, toPackType } from './pack.type';

@Resolver()
export class PackResolver {
  @Query(() => [PackType], { description: 'the tasks this server translates, with image size and default parameters' })
  packs(@Ctx() ctx: GraphQLContext): PackType[] {
    return ctx.services.catalog.packs().map(toPackType);
  }

  @Query(() => EngineStatusType)
  async engineStatus(@Ctx() ctx: GraphQLContext): Promise<EngineStatusType> {
    const { engine, catalog, queue, config } = ctx.services;
    const [status, queueLength] = await Promise.all([serviceStatus({ engine, catalog, aliveMs: config.leaseMs }), queue.length()]);
    return toEngineStatusType(status, queueLength);
  }
}
