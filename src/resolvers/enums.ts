import { registerEnumType } from 'type-graphql';

export enum RunStatusEnum {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(RunStatusEnum, { name: 'RunStatus', description: 'QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED (QUEUED -> CANCELLED too)' });

export enum SamplerEnum {
  EGSDE = 'egsde',
  SDEDIT = 'sdedit',
  ILVR = 'ilvr',
}
registerEnumType(SamplerEnum, { name: 'Sampler', description: 'EGSDE, or one of the paper\'s baselines (SDEdit: no energy; ILVR: low-pass replacement)' });

export enum EnergyEnum {
  COSINE = 'cosine',
  NEG_L2 = 'neg_l2',
}
registerEnumType(EnergyEnum, { name: 'Energy', description: 'energy function of an expert (DESIGN.md section 3)' });

export enum RunEventTypeEnum {
  STATUS = 'STATUS',
  STEP = 'STEP',
  RESULT = 'RESULT',
  ERROR = 'ERROR',
  CANCELLED = 'CANCELLED',
}
registerEnumType(RunEventTypeEnum, { name: 'RunEventType' });
