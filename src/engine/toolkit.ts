/**
 * The engine's door for tooling: training, the CLI, benchmarks and tests build graphs,
 * differentiate them, build the paper's networks, import checkpoints and run sessions through
 * here (the service uses ./index.ts). Nothing outside src/engine imports past these two files.
 */
// ONNX graphs: IR, builder, load/save
export type { Graph, Node, ValueInfo } from './onnx/ir';
export { DType, floatTensor, int64Tensor } from './onnx/tensor';
export type { Tensor } from './onnx/tensor';
export { GraphBuilder } from './onnx/builder';
export { decodeModel, encodeModel, saveModelWithExternalData } from './onnx/model-io';
export { promoteInitializers } from './onnx/promote';
// reverse-mode autodiff over ONNX
export { buildGradientGraph, cotangentName, gradientName } from './autodiff/vjp';
// the paper's architectures, weights, checkpoints, presets, pack import
export { NetBuilder } from './nets/layers';
export { buildAdmUNet, buildEncoderTrunk, isEncoderHeadKey } from './nets/adm';
export type { AdmConfig } from './nets/adm';
export { buildDdpmUNet } from './nets/ddpm';
export type { DdpmConfig } from './nets/ddpm';
export { RandomWeights, StateDictWeights } from './nets/weights';
export type { WeightSource } from './nets/weights';
export { readTorchCheckpoint } from './nets/checkpoint';
export { TASK_PRESETS } from './nets/presets';
export { importPack, writePack, writeOnnx } from './nets/import-pack';
// packs
export { parsePackManifest, loadPack, discoverPacks, writePackFolder, removeDeadStaging, PACK_NAME_PATTERN } from './packs';
export type { PackManifest, LoadedPack } from './packs';
// sampling: schedules, coefficients, run state, noise, the step graph
export { createSchedule, respaceSchedule } from './sampling/schedule';
export { NUM_COEFS, stepCoefficients } from './sampling/coefficients';
export { buildStepGraph, STEP_OUTPUTS } from './sampling/step-graph';
export { RunState } from './sampling/run-state';
export type { RunSchedule, StepRecord } from './sampling/run-state';
export { RecordedNoise, SeededNoise } from './sampling/noise';
// the one sampler loop: a step function, a run (or its spec), noise, onStep
export { sample, createRun, acceptStep } from './sampling/sample';
export type { RunSpec, SampleOptions, SampleStep, StepFn } from './sampling/sample';
export { Rng } from './sampling/random';
// runtime: sessions, the step executor, the batcher, the engine core without its thread
export { GraphSession } from './runtime/session';
export type { HostTensor, SessionOptions } from './runtime/session';
export { StepExecutor } from './runtime/step-executor';
export { Batcher } from './runtime/batcher';
export { EngineCore } from './runtime/engine-core';
// tests: the official implementation's reference vectors (test/fixtures/egsde-tiny)
export { goldenDir, loadGolden, goldenCase, goldenCaseNames, goldenModel, goldenModelConfig, goldenStepGraph, relL2, trajectoryCase, trajectoryCaseNames, trajectorySamples } from './testing/goldens';
export type { GoldenTensor, TrajectoryCase, TrajectorySample } from './testing/goldens';
