import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { PackInfo } from '../engine';
import type { ServiceStatus } from '../services/engine-status';
import type { EnergyKind, SamplerKind } from '../engine';
import { EnergyEnum, SamplerEnum } from './enums';

@ObjectType('PackDefaults', { description: "a pack's default run parameters" })
export class PackDefaultsType {
  @Field(() => SamplerEnum) sampler!: SamplerKind;
  @Field(() => Int) M!: number;
  @Field(() => Int) steps!: number;
  @Field(() => Float) lambdaS!: number;
  @Field(() => Float) lambdaI!: number;
  @Field(() => EnergyEnum) s1!: EnergyKind;
  @Field(() => EnergyEnum) s2!: EnergyKind;
  @Field(() => Int) repeats!: number;
  @Field(() => Int) downN!: number;
}

@ObjectType('Pack', { description: 'a model pack: a task the service translates' })
export class PackType {
  @Field({ description: 'the task id used in translate(input: {task})' }) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [String]) sourceDomains!: string[];
  @Field() targetDomain!: string;
  @Field(() => Int, { description: 'images are resized and centre-cropped to this square size' }) imageSize!: number;
  @Field(() => Int) numTimesteps!: number;
  @Field(() => PackDefaultsType) defaults!: PackDefaultsType;
}

export function toPackType(p: PackInfo): PackType {
  return {
    name: p.name,
    description: p.description ?? null,
    sourceDomains: p.sourceDomains,
    targetDomain: p.targetDomain,
    imageSize: p.imageSize,
    numTimesteps: p.numTimesteps,
    defaults: p.defaults,
  };
}

@ObjectType('EngineWorker', { description: 'an engine worker process, as it last advertised itself' })
export class EngineWorkerType {
  @Field() id!: string;
  @Field() host!: string;
  @Field(() => Int) pid!: number;
  @Field({ description: 'execution provider (cpu, cuda, webgpu)' }) provider!: string;
  @Field(() => [String], { description: 'the packs it serves' }) packs!: string[];
  @Field(() => Int, { description: 'runs it steps at once' }) capacity!: number;
  @Field(() => Int) activeRuns!: number;
  @Field(() => Date) startedAt!: Date;
  @Field(() => Date) lastHeartbeat!: Date;
  @Field({ description: 'heartbeat within the lease time (LEASE_MS)' }) alive!: boolean;
}

@ObjectType('EngineStatus')
export class EngineStatusType {
  @Field({ description: 'execution provider in use (cpu, cuda, webgpu)' }) provider!: string;
  @Field(() => Int, { description: 'runs waiting in the queue' }) queueLength!: number;
  @Field(() => Int, { description: 'runs the engine is stepping' }) activeRuns!: number;
  @Field(() => Float, { description: 'sample-steps per second, recent' }) stepsPerSecond!: number;
  @Field(() => [Int], { description: 'batch sizes of the latest step' }) lastBatchSizes!: number[];
  @Field(() => Int) maxBatch!: number;
  @Field(() => [EngineWorkerType], { description: 'the engine workers (this process included when it runs an engine)' }) workers!: EngineWorkerType[];
}

export function toEngineStatusType(s: ServiceStatus, queueLength: number): EngineStatusType {
  return {
    provider: s.provider,
    queueLength,
    activeRuns: s.activeRuns,
    stepsPerSecond: s.stepsPerSecond,
    lastBatchSizes: s.lastBatchSizes,
    maxBatch: s.maxBatch,
    workers: s.workers.map((w) => ({ id: w.id, host: w.host, pid: w.pid, provider: w.provider, packs: w.packs.map((p) => p.name), capacity: w.capacity, activeRuns: w.activeRuns, startedAt: w.startedAt, lastHeartbeat: w.heartbeatAt, alive: w.alive })),
  };
}
