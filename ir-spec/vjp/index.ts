/** The derivative rules (OpDef.vjp) the op definitions name; see util.ts for the shared idioms. */
export * as ew from './elementwise.ts';
export * as shape from './shape.ts';
export * as linalg from './linalg.ts';
export * as nn from './nn.ts';
export * as reduce from './reduce.ts';
export * as act from './activations.ts';
export * as math from './math.ts';
