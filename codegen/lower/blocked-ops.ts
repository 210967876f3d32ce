/**
 * Which ops have a channel-blocked (NC4HW4) kernel on a compiled target. Compute definitions index
 * logically and the loop IR maps logical indices through a buffer's layout, so every op below
 * lowers unchanged for blocked operands; what decides membership is that its compute definition
 * reaches its activations only through TensorRef.at (or a blocked helper: ir-spec/lib/layout.ts) and
 * that a blocked schedule exists for it (codegen/schedule/blocked.ts). A target takes blocked layouts
 * when it has vectors of at least 4 f32 lanes or is a GPU (WGSL: vec4<f32> lanes); see blockedLanes.
 */
import type { TargetCaps } from '@aic/ir-spec';

const UNARY = [
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Tanh', 'Softplus', 'Softsign', 'Mish', 'Gelu', 'Clip', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal',
  'Floor', 'Ceil', 'Round', 'Erf', 'Identity',
];
const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean'];
const OTHERS = [
  'Conv', 'aic.FusedConv', 'aic.QConv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization',
  'Concat', 'Split', 'Resize', 'Pad', 'aic.ChannelShuffle', 'aic.FusedElementwise', 'aic.LayoutConvert',
  'QuantizeLinear', 'DequantizeLinear',
];

/** ops (`Op` for ai.onnx, `domain.Op` otherwise) with a blocked kernel */
export const BLOCKED_OPS: ReadonlySet<string> = new Set([...UNARY, ...BINARY, ...OTHERS]);

/**
 * The channel block x of NCxHWx a target takes (0: none): one vector of f32 lanes, up to 16. 128-bit
 * SIMD (wasm-simd) and WGSL's vec4<f32> take 4; C declares 16 lanes (GCC/Clang vector extensions,
 * AVX-512 where the machine has it), so its blocked kernels use NC16HW16: one vector per pixel and
 * block, the width C's -O2 kernels use too. Channel counts that are not whole blocks cost padding
 * lanes (MobileNet's 24 -> 32), computed unguarded (schedule/blocked.ts 'pad').
 */
export function blockedLanes(caps: TargetCaps): number {
  if (caps.gpu) return 4;
  return caps.vectorLanes >= 4 ? Math.min(16, caps.vectorLanes) : 0;
}

export function hasBlockedKernel(op: string, domain: string, caps: TargetCaps): boolean {
  return blockedLanes(caps) > 0 && BLOCKED_OPS.has(domain ? `${domain}.${op}` : op);
}
