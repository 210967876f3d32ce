/** Automatic differentiation on the graph IR (reverse mode; derivative rules are OpDef.vjp in ir-spec). */
export { appendGradients, activeValues, graphBuilder } from '@aic/ir-spec';
export { gradModel, parameters, LOSSES, type GradOptions, type LossKind } from './grad.ts';
