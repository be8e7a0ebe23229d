import { Field, Float, InputType, Int } from 'type-graphql';
import { GraphQLUpload } from 'graphql-upload-minimal';
import type { FileUpload } from 'graphql-upload-minimal';
import { GraphQLBigInt } from 'graphql-scalars';
import type { EnergyKind, SamplerKind } from '../engine';
import type { RunStatus } from '../runs';
import { EnergyEnum, RunStatusEnum, SamplerEnum } from './enums';

@InputType('RunParamsInput', { description: 'every field defaults to the pack\'s default (seed: random)' })
export class RunParamsInput {
  @Field(() => SamplerEnum, { nullable: true }) sampler?: SamplerKind;
  @Field(() => Int, { nullable: true, description: 'start time M, 1..T' }) M?: number;
  @Field(() => Int, { nullable: true, description: 'steps per repeat, 2..M (fewer than M respaces the schedule)' }) steps?: number;
  @Field(() => Float, { nullable: true, description: 'realism weight, >= 0' }) lambdaS?: number;
  @Field(() => Float, { nullable: true, description: 'faithfulness weight, >= 0' }) lambdaI?: number;
  @Field(() => EnergyEnum, { nullable: true }) s1?: EnergyKind;
  @Field(() => EnergyEnum, { nullable: true }) s2?: EnergyKind;
  @Field(() => GraphQLBigInt, { nullable: true, description: 'integer 0 .. 2^32 - 1 (a number or a decimal string)' }) seed?: number;
  @Field(() => Int, { nullable: true, description: '1..100' }) repeats?: number;
  @Field(() => Int, { nullable: true, description: 'a preview every N steps; 0: none. Default 10' }) previewEvery?: number;
}

@InputType('TranslateInput', { description: 'give exactly one of image (a data URL) and upload (GraphQL multipart request)' })
export class TranslateInput {
  @Field({ description: 'a pack name, see Query.packs' }) task!: string;
  @Field(() => String, { nullable: true, description: 'data:image/png|jpeg|webp;base64,...' }) image?: string;
  @Field(() => GraphQLUpload, { nullable: true }) upload?: Promise<FileUpload>;
  @Field(() => RunParamsInput, { nullable: true }) params?: RunParamsInput;
}

@InputType('RunFilter')
export class RunFilterInput {
  @Field(() => RunStatusEnum, { nullable: true }) status?: RunStatus;
  @Field(() => String, { nullable: true }) task?: string;
  @Field(() => Date, { nullable: true, description: 'inclusive' }) createdAfter?: Date;
  @Field(() => Date, { nullable: true, description: 'exclusive' }) createdBefore?: Date;
}
