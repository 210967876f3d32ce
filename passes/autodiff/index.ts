/** Automatic differentiation on the graph IR (reverse mode; derivative rules are OpDef.vjp in ir-spec). */
export { appendGradients, appendVjp, activeValues, graphBuilder } from '@aic/ir-spec';
export { gradModel, parameters, staticCopy, LOSSES, type GradOptions, type LossKind } from './grad.ts';
export { jvpModel, type Tangent } from './forward.ts';
export { sgdStepModel, trainStepModel, OPTIMIZERS, type OptimizerKind, type TrainStepOptions } from './train-step.ts';
export { carryBatchNormStats, trainBatchNorm, type BatchNormMode } from './batchnorm-state.ts';
