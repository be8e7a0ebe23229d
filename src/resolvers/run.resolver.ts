import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { CodedError } from '../errors';
import { topics } from '../events/event-bus';
import type { RunDeleted } from '../events/event-bus';
import { canSee } from '../auth/principal';
import { MAX_PAGE_SIZE, encodeRunCursor } from '../runs';
import type { RunPage, RunRecord } from '../runs';
import type { RunEventView } from '../services/run-events';
import type { GraphQLContext } from './context';
import { translateIterationErrors } from './errors';
import { RunChangeType, RunConnectionType, RunType, toRunType } from './run.type';
import { RunEventType, toRunEventType } from './run-event.type';
import { RunFilterInput, TranslateInput } from './translate.input';
import { readUpload } from './upload';

@ArgsType()
class RunsArgs {
  @Field(() => RunFilterInput, { nullable: true }) filter?: RunFilterInput;
  @Field(() => Int, { defaultValue: 20, description: `1..${MAX_PAGE_SIZE}` }) first!: number;
  @Field(() => String, { nullable: true, description: 'endCursor of the previous page' }) after?: string;
}

@ArgsType()
class RunEventsArgs {
  @Field(() => ID) id!: string;
  @Field(() => Int, { defaultValue: 0, description: 'replay events with seq > afterSeq first' }) afterSeq!: number;
}

/**
 * One operation asking for the same page under many aliases reads it once: aliases of
 * runs(first: 200) cost the database one query, not one each.
 */
function oncePerOperation<T>() {
  const byContext = new WeakMap<GraphQLContext, Map<string, Promise<T>>>();
  return (ctx: GraphQLContext, key: string, read: () => Promise<T>): Promise<T> => {
    let cache = byContext.get(ctx);
    if (!cache) byContext.set(ctx, (cache = new Map()));
    let value = cache.get(key);
    if (!value) cache.set(key, (value = read()));
    return value;
  };
}
const pageOnce = oncePerOperation<RunPage>();
const countOnce = oncePerOperation<number>();

@Resolver(() => RunType)
export class RunResolver {
  @FieldResolver(() => Int, { nullable: true, description: '1-based place among the QUEUED runs of the same pack, oldest first (null unless QUEUED)' })
  queuePosition(@Root() run: RunType, @Ctx() ctx: GraphQLContext): Promise<number | null> {
    return ctx.services.runs.queuePositionOf(run);
  }

  @Query(() => RunType, { description: 'a run by id (error run/not_found if there is none)' })
  run(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<RunType> {
    return (async () => toRunType(await ctx.services.runs.get(id, ctx.principal), ctx.services.urls))();
  }

  @Query(() => RunConnectionType, { description: 'run history, newest first' })
  async runs(@Args() { filter, first, after }: RunsArgs, @Ctx() ctx: GraphQLContext): Promise<RunConnectionType> {
    {
      if (first < 1 || first > MAX_PAGE_SIZE) throw new CodedError('input/invalid', `first must be in 1..${MAX_PAGE_SIZE}, got ${first}`, { field: 'first' });
      if (filter?.createdAfter && Number.isNaN(filter.createdAfter.getTime())) throw new CodedError('input/invalid', 'createdAfter is not a date', { field: 'filter.createdAfter' });
      const f = { status: filter?.status, task: filter?.task, createdAfter: filter?.createdAfter, createdBefore: filter?.createdBefore };
      const page = await pageOnce(ctx, JSON.stringify([f, first, after ?? null]), () => ctx.services.runs.list(f, first, after ?? null, ctx.principal));
      let total: Promise<number> | undefined;
      return {
        edges: page.rows.map((r) => ({ cursor: encodeRunCursor({ createdAt: r.createdAt, id: r.id }), node: toRunType(r, ctx.services.urls) })),
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
        // counted only when asked for (aliases of the same page count once)
        get totalCount() {
          return (total ??= countOnce(ctx, JSON.stringify(f), () => ctx.services.runs.count(f, ctx.principal)));
        },
      };
    }
  }

  @Mutation(() => RunType, { description: 'queue a translation; follow it with Subscription.runEvents' })
  async translate(@Arg('input', () => TranslateInput) input: TranslateInput, @Ctx() ctx: GraphQLContext): Promise<RunType> {
    {
      const { config } = ctx.services;
      if ((input.image === undefined || input.image === null) === (input.upload === undefined || input.upload === null)) {
        throw new CodedError('input/image_missing', 'give exactly one of input.image (a data URL) and input.upload', { field: 'image' });
      }
      const image = input.upload ? { bytes: await readUpload(input.upload, config.maxImageBytes) } : { dataUrl: input.image! };
      const params = input.params ? Object.fromEntries(Object.entries(input.params).filter(([, v]) => v !== undefined && v !== null)) : {};
      return toRunType(await ctx.services.runs.translate({ task: input.task, image, params }, ctx.principal), ctx.services.urls);
    }
  }

  @Mutation(() => RunType, { description: 'cancel a queued run now, or a running one at its next step' })
  async cancelRun(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<RunType> {
    return toRunType(await ctx.services.runs.cancel(id, ctx.principal), ctx.services.urls);
  }

  @Mutation(() => Boolean, { description: 'delete a finished run and its events (run/not_deletable while it is queued or running)' })
  deleteRun(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return ctx.services.runs.delete(id, ctx.principal);
  }

  @Subscription(() => RunEventType, {
    description: 'what the subscriber missed after afterSeq, then live steps, then the terminal event; then it completes',
    subscribe: ({ args, context }) => translateIterationErrors((context as GraphQLContext).services.runs.events(args.id as string, args.afterSeq as number, (context as GraphQLContext).principal), context as GraphQLContext),
  })
  runEvents(@Root() ev: RunEventView, @Args() _args: RunEventsArgs, @Ctx() ctx: GraphQLContext): RunEventType {
    return toRunEventType(ev, ctx.services.urls);
  }

  @Subscription(() => RunChangeType, {
    topics: topics.runsChanged,
    description: 'runs created, changing state, or deleted (dashboards): the caller\'s own runs (an admin key: all)',
    filter: ({ payload, context }: { payload: RunRecord | RunDeleted; context: GraphQLContext }) => canSee(context.principal, { ownerId: payload.ownerId ?? null }),
  })
  runsChanged(@Root() payload: RunRecord | RunDeleted, @Ctx() ctx: GraphQLContext): RunChangeType {
    if ('deleted' in payload) return { id: payload.id, deleted: true, run: null };
    return { id: payload.id, deleted: false, run: toRunType(payload, ctx.services.urls) };
  }
}
