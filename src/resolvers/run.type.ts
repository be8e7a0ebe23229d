import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { GraphQLBigInt } from 'graphql-scalars';
import type { EnergyKind, SamplerKind } from '../engine';
import type { RunRecord, RunStatus } from '../runs';
import { isTerminal } from '../runs';
import { EnergyEnum, RunStatusEnum, SamplerEnum } from './enums';

import type { UrlSigner } from '../auth/url-signer';

@ObjectType('RunParams', { description: 'the parameters a run uses (request over the pack defaults)' })
export class RunParamsType {
  @Field(() => SamplerEnum) sampler!: SamplerKind;
  @Field(() => Int, { description: 'start time M' }) M!: number;
  @Field(() => Int, { description: 'steps per repeat (fewer than M: respaced)' }) steps!: number;
  @Field(() => Float) lambdaS!: number;
  @Field(() => Float) lambdaI!: number;
  @Field(() => EnergyEnum) s1!: EnergyKind;
  @Field(() => EnergyEnum) s2!: EnergyKind;
  @Field(() => Int) repeats!: number;
  @Field(() => Int) previewEvery!: number;
}

@ObjectType('RunTimings')
export class RunTimingsType {
  @Field(() => Float) queuedMs!: number;
  @Field(() => Float) runMs!: number;
  @Field(() => Int) steps!: number;
  @Field(() => Float) msPerStep!: number;
}

@ObjectType('RunMetrics', { description: 'faithfulness of the output to the (cropped, resized) source' })
export class RunMetricsType {
  @Field(() => Float) l2!: number;
  @Field(() => Float, { description: 'dB; infinite values are reported as 100' }) psnr!: number;
  @Field(() => Float) ssim!: number;
}

@ObjectType('RunError')
export class RunErrorType {
  @Field() code!: string;
  @Field() message!: string;
}

@ObjectType('RunProgress', { description: 'how far a run is, and how long it has left' })
export class RunProgressType {
  @Field(() => Int) stepsDone!: number;
  @Field(() => Int) totalSteps!: number;
  @Field(() => Float, { description: 'stepsDone / totalSteps, 0..1 (1 once SUCCEEDED)' }) fraction!: number;
  @Field(() => Float, {
    nullable: true,
    description:
      'seconds left: RUNNING, from the pace measured since startedAt (null before the first step); QUEUED: null (the wait depends on how the engine batches the queue); 0 once finished',
  })
  etaSeconds!: number | null;
}

/** A run's progress now (`now`: the clock reading, ms). */
export function progressOf(r: Pick<RunRecord, 'status' | 'stepsDone' | 'totalSteps' | 'startedAt'>, now: number = Date.now()): RunProgressType {
  const { stepsDone, totalSteps } = r;
  const fraction = r.status === 'SUCCEEDED' ? 1 : totalSteps > 0 ? Math.min(1, Math.max(0, stepsDone / totalSteps)) : 0;
  let etaSeconds: number | null = null;
  if (isTerminal(r.status)) etaSeconds = 0;
  else if (r.status === 'RUNNING' && r.startedAt && stepsDone > 0) {
    const elapsedS = Math.max(0, now - r.startedAt.getTime()) / 1000;
    etaSeconds = (elapsedS / stepsDone) * Math.max(0, totalSteps - stepsDone);
  }
  return { stepsDone, totalSteps, fraction, etaSeconds };
}

@ObjectType('Run')
export class RunType {
  @Field(() => ID) id!: string;
  @Field(() => RunStatusEnum) status!: RunStatus;
  @Field({ description: 'the model pack' }) task!: string;
  @Field(() => SamplerEnum) sampler!: SamplerKind;
  @Field(() => RunParamsType) params!: RunParamsType;
  @Field(() => GraphQLBigInt, { description: '0 .. 2^32 - 1' }) seed!: number;
  @Field(() => Int) totalSteps!: number;
  @Field(() => Int) stepsDone!: number;
  @Field(() => Int, { description: 'seq of the newest event' }) lastSeq!: number;
  @Field(() => Int) attempts!: number;
  @Field() cancelRequested!: boolean;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => RunTimingsType, { nullable: true }) timings!: RunTimingsType | null;
  @Field(() => RunMetricsType, { nullable: true }) metrics!: RunMetricsType | null;
  @Field(() => RunErrorType, { nullable: true }) error!: RunErrorType | null;
  @Field() sourceKey!: string;
  @Field({ description: 'GET it from this server: a signed URL that expires (query the run again for a fresh one)' }) sourceUrl!: string;
  @Field(() => String, { nullable: true }) outputKey!: string | null;
  @Field(() => String, { nullable: true, description: 'signed and expiring, as sourceUrl' }) outputUrl!: string | null;
  @Field(() => RunProgressType, { description: 'steps done, fraction and time left, as of this read' }) progress!: RunProgressType;
}

export function toRunType(r: RunRecord, urls: UrlSigner): RunType {
  return {
    id: r.id,
    status: r.status,
    task: r.task,
    sampler: r.params.sampler,
    params: r.params,
    seed: r.seed,
    totalSteps: r.totalSteps,
    stepsDone: r.stepsDone,
    lastSeq: r.lastSeq,
    attempts: r.attempts,
    cancelRequested: r.cancelRequested,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    timings: r.timings,
    metrics: r.metrics ? { ...r.metrics, psnr: Number.isFinite(r.metrics.psnr) ? r.metrics.psnr : 100 } : null,
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null,
    sourceKey: r.sourceKey,
    // signed only when asked for: a history page of ids signs nothing
    get sourceUrl() {
      return urls.url(r.sourceKey);
    },
    outputKey: r.outputKey,
    get outputUrl() {
      return urls.url(r.outputKey);
    },
    get progress() {
      return progressOf(r);
    },
  };
}

@ObjectType('RunEdge')
export class RunEdgeType {
  @Field() cursor!: string;
  @Field(() => RunType) node!: RunType;
}

@ObjectType('PageInfo')
export class PageInfoType {
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType('RunConnection')
export class RunConnectionType {
  @Field(() => [RunEdgeType]) edges!: RunEdgeType[];
  @Field(() => PageInfoType) pageInfo!: PageInfoType;
  @Field(() => Int, { description: 'runs under the same filter (and ownership) in all pages, not just this one' }) totalCount!: number | Promise<number>;
}

@ObjectType('RunChange', { description: 'a run was created, changed state, or was deleted' })
export class RunChangeType {
  @Field(() => ID) id!: string;
  @Field() deleted!: boolean;
  @Field(() => RunType, { nullable: true }) run!: RunType | null;
}
