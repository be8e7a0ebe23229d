import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from './context';
import { EngineStatusType, PackType, toEngineStatusType, toPackType } from './pack.type';

@Resolver()
export class PackResolver {
  @Query(() => [PackType], { description: 'the tasks this server translates, with image size and default parameters' })
  packs(@Ctx() ctx: GraphQLContext): PackType[] {
    return ctx.services.engine.packs.map(toPackType);
  }

  @Query(() => EngineStatusType)
  engineStatus(@Ctx() ctx: GraphQLContext): Promise<EngineStatusType> {
    return (async () => toEngineStatusType(await ctx.services.engine.status(), await ctx.services.queue.length()))();
  }
}
