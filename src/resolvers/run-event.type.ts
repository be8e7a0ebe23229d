import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { RunEventView } from '../services/run-events';
import type { RunEventType as RunEventKind, RunStatus } from '../runs';
import { RunEventTypeEnum, RunStatusEnum } from './enums';
import type { UrlSigner } from '../auth/url-signer';
import { RunErrorType } from './run.type';

@ObjectType('Energies', { description: 'the two experts\' energies at a step (EGSDE only)' })
export class EnergiesType {
  @Field(() => Float) realism!: number;
  @Field(() => Float) faithfulness!: number;
}

@ObjectType('RunEvent', { description: 'one entry of a run\'s event log; seq counts from 1 without gaps' })
export class RunEventType {
  @Field(() => ID) runId!: string;
  @Field(() => Int) seq!: number;
  @Field(() => RunEventTypeEnum) type!: RunEventKind;
  @Field() createdAt!: Date;
  @Field(() => RunStatusEnum, { nullable: true, description: 'STATUS events' }) status!: RunStatus | null;
  @Field(() => Int, { nullable: true, description: 'STEP events: 1-based step' }) step!: number | null;
  @Field(() => Int, { nullable: true }) totalSteps!: number | null;
  @Field(() => Int, { nullable: true, description: 'timestep the models saw' }) t!: number | null;
  @Field(() => EnergiesType, { nullable: true }) energies!: EnergiesType | null;
  @Field(() => String, { nullable: true, description: 'downscaled predicted clean image (PNG)' }) previewUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'RESULT events' }) outputUrl!: string | null;
  @Field(() => RunErrorType, { nullable: true, description: 'ERROR events' }) error!: RunErrorType | null;
  @Field({ description: 'the run has ended (RESULT, ERROR or CANCELLED)' }) terminal!: boolean;
}

export function toRunEventType(v: RunEventView, urls: UrlSigner): RunEventType {
  return {
    runId: v.runId,
    seq: v.seq,
    type: v.type,
    createdAt: v.createdAt instanceof Date ? v.createdAt : new Date(v.createdAt),
    status: (v.status) ?? null,
    step: v.step?.step ?? null,
    totalSteps: v.step?.totalSteps ?? null,
    t: v.step?.t ?? null,
    energies: v.step?.energies ?? null,
    previewUrl: urls.url(v.step?.previewKey),
    outputUrl: urls.url(v.outputKey),
    error: v.error ?? null,
    terminal: v.type === 'RESULT' || v.type === 'ERROR' || v.type === 'CANCELLED',
  };
}
