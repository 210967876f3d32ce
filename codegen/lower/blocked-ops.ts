/**
 * Which ops have a channel-blocked (NC4HW4) kernel on a compiled target. Compute definitions index
 * logically and the loop IR maps logical indices through a buffer's layout, so every op below
 * lowers unchanged for blocked operands; what decides membership is that its compute definition
 * reaches its activations only through TensorRef.at (or a blocked helper: ir-spec/lib/layout.ts) and
 * that a blocked schedule exists for it (codegen/schedule/blocked.ts). A target takes blocked layouts
 * when it has vectors of at least 4 f32 lanes or is a GPU (WGSL: vec4<f32> lanes).
 */
import type { TargetCaps } from '@aic/ir-spec';

const UNARY = [
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Tanh', 'Softplus', 'Softsign', 'Mish', 'Gelu', 'Clip', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal',
  'Floor', 'Ceil', 'Round', 'Erf', 'Identity',
];
const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean'];
const OTHERS = [
  'Conv', 'aic.FusedConv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization',
  'Concat', 'Split', 'Resize', 'Pad', 'aic.ChannelShuffle', 'aic.FusedElementwise', 'aic.LayoutConvert',
];

/** ops (`Op` for ai.onnx, `domain.Op` otherwise) with a blocked kernel */
export const BLOCKED_OPS: ReadonlySet<string> = new Set([...UNARY, ...BINARY, ...OTHERS]);

/** The channel block x of NCxHWx a target takes (0: none). */
export function blockedLanes(caps: TargetCaps): number {
  return caps.gpu || caps.vectorLanes >= 4 ? 4 : 0;
}

export function hasBlockedKernel(op: string, domain: string, caps: TargetCaps): boolean {
  return blockedLanes(caps) > 0 && BLOCKED_OPS.has(domain ? `${domain}.${op}` : op);
}
