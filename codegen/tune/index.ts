/** Auto-tuning (`aic tune`, `--tuning-log`): see docs/tuning.md. */
export { workloadsOf, workloadKey, type Workload } from './workload.ts';
export { kernelSpace, mutate, features, type KernelSpace } from './space.ts';
export { RidgeModel } from './cost-model.ts';
export { makeRng } from './rng.ts';
export { thisMachine, parseLog, bestRecords, recordLine, scheduleText, scheduleOf, type TuneRecord, type Machine, type LogIssue } from './log.ts';
export { cRunner, wasmSimdRunner, TUNE_TARGETS, type TuneRunner, type Batch, type ModelTimer } from './runners.ts';
export { browserRunner } from './browser-runner.ts';
export { wgslRunner, wgslMachine, gpuMachine, stepMsOf } from './runner-wgsl.ts';
export { batchGraph, type BatchGraph } from './batch.ts';
export { outputsAgree } from './agree.ts';
export { tune, RECHECK, type TuneOptions, type WorkloadResult } from './search.ts';
export { confirmWorkload, confirmCopies, roundRatios, ratioStats, MARGIN, type Confirmation, type Verdict } from './confirm.ts';
export { checkModel, type ModelCheck, type Winner } from './model-check.ts';
export { tuningSchedules, type TuningApplied } from './apply.ts';
