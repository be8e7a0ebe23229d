/**
 * The paper's released models and EGSDE's settings for each task (ML-GSAI/EGSDE README and
 * run scripts; guided-diffusion script_util for the 256 px architectures).
 */
import { AdmConfig } from './adm';
import { DdpmConfig } from './ddpm';

/** guided-diffusion create_model/create_classifier channel_mult for 256 px */
const MULT_256 = [1, 1, 2, 2, 4, 4];

/** afhq_dog_4m.pt: ADM, AFHQ dog, 256 px, learned sigma. */
export const ADM_AFHQ_DOG_256: AdmConfig = {
  imageSize: 256,
  inChannels: 3,
  modelChannels: 128,
  outChannels: 6,
  numResBlocks: 1,
  attentionResolutions: [256 / 16],
  channelMult: MULT_256,
  numHeads: 4,
  numHeadChannels: 64,
  useScaleShiftNorm: true,
  resblockUpdown: true,
};

/** celebahq_female_ddpm.pth: the ddim codebase's DDPM UNet, CelebA-HQ female, 256 px. */
export const DDPM_CELEBAHQ_256: DdpmConfig = {
  imageSize: 256,
  inChannels: 3,
  ch: 128,
  outCh: 3,
  chMult: MULT_256,
  numResBlocks: 2,
  attnResolutions: [16],
  resampWithConv: true,
};

/** *_dse.pt: EncoderUNetModel classifiers (width 128, depth 2, attention at 32, 16, 8 px). */
export const DSE_256: Omit<AdmConfig, 'outChannels'> = {
  imageSize: 256,
  inChannels: 3,
  modelChannels: 128,
  numResBlocks: 2,
  attentionResolutions: [256 / 32, 256 / 16, 256 / 8],
  channelMult: MULT_256,
  numHeads: 1,
  numHeadChannels: 64,
  useScaleShiftNorm: true,
  resblockUpdown: true,
};

export type ScoreArchitecture = { kind: 'adm'; config: AdmConfig } | { kind: 'ddpm'; config: DdpmConfig };

export interface TaskPreset {
  task: string;
  description: string;
  sourceDomains: string[];
  targetDomain: string;
  score: ScoreArchitecture;
  scoreFile: string;
  dse: Omit<AdmConfig, 'outChannels'>;
  dseFile: string;
  defaults: { M: number; lambdaS: number; lambdaI: number; s1: 'cosine'; s2: 'neg_l2'; downN: number };
}

const EGSDE_DEFAULTS = { M: 500, lambdaS: 500, lambdaI: 2, s1: 'cosine' as const, s2: 'neg_l2' as const, downN: 32 };

export const TASK_PRESETS: Record<string, TaskPreset> = {
  cat2dog: {
    task: 'cat2dog',
    description: 'AFHQ cat to dog (EGSDE, NeurIPS 2022)',
    sourceDomains: ['cat'],
    targetDomain: 'dog',
    score: { kind: 'adm', config: ADM_AFHQ_DOG_256 },
    scoreFile: 'afhq_dog_4m.pt',
    dse: DSE_256,
    dseFile: 'cat2dog_dse.pt',
    defaults: EGSDE_DEFAULTS,
  },
  wild2dog: {
    task: 'wild2dog',
    description: 'AFHQ wild animal to dog (EGSDE, NeurIPS 2022)',
    sourceDomains: ['wild'],
    targetDomain: 'dog',
    score: { kind: 'adm', config: ADM_AFHQ_DOG_256 },
    scoreFile: 'afhq_dog_4m.pt',
    dse: DSE_256,
    dseFile: 'wild2dog_dse.pt',
    defaults: EGSDE_DEFAULTS,
  },
  male2female: {
    task: 'male2female',
    description: 'CelebA-HQ male to female (EGSDE, NeurIPS 2022)',
    sourceDomains: ['male'],
    targetDomain: 'female',
    score: { kind: 'ddpm', config: DDPM_CELEBAHQ_256 },
    scoreFile: 'celebahq_female_ddpm.pth',
    dse: DSE_256,
    dseFile: 'male2female_dse.pt',
    defaults: EGSDE_DEFAULTS,
  },
  'multi-afhq': {
    task: 'multi-afhq',
    description: 'AFHQ cat and wild animal to dog with the three-class DSE (EGSDE, NeurIPS 2022)',
    sourceDomains: ['cat', 'wild'],
    targetDomain: 'dog',
    score: { kind: 'adm', config: ADM_AFHQ_DOG_256 },
    scoreFile: 'afhq_dog_4m.pt',
    dse: DSE_256,
    dseFile: 'afhq_dse.pt',
    defaults: EGSDE_DEFAULTS,
  },
};
