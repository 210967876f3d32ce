/** ir-spec: one declarative definition per op. Importing this module registers every op. */
export * from './types.ts';
export * from './registry.ts';
export * from './attrs.ts';
export * from './infer.ts';
export * from './validate.ts';
export { makeBuilder, type BuiltNodes } from './builder.ts';
export { appendGradients, appendVjp, activeValues, graphBuilder } from './autodiff/reverse.ts';
export { expandGradientOps } from './autodiff/gradient-op.ts';
export * as lib from './lib/util.ts';
/** conv/pool window geometry (kernel algorithms in codegen read a Conv's the way the op does) */
export { windowGeometry, convTransposeGeometry } from './lib/nn.ts';
export { blockedPadRows } from './lib/layout.ts';
/** QuantizeLinear's rounding (half to even) and integer ranges, for passes that quantize (passes/quantize) */
export { rint, qRange } from './lib/linalg.ts';
export { keepsCondition } from './ops/control.ts';
import './ops/index.ts';
