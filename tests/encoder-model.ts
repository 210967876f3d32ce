/**
 * A small self-attention encoder over x: f32[1, S, D] whose position table (maxPos rows) is sliced to
 * the input's length S: outputs y [1, S, D] and pooled [1, D] (the mean over S). The model of the
 * run-time extent tests (tests/codegen/symbolic-extent.test.ts, tests/api-symbolic.test.ts).
 */
import { buildModel, type NodeSpec } from './onnx-builder.ts';

/** Deterministic values in [-0.5, 0.5]. */
export const rnd = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.5);

/** The encoder's nodes over x (its length S at dim 1): y and pooled. */
const ENCODER: NodeSpec[] = [
    { op: 'Shape', inputs: ['x'], outputs: ['len'], attrs: { start: 1, end: 2 } },
    { op: 'Sub', inputs: ['len', 'len'], outputs: ['zero'] },
    { op: 'Slice', inputs: ['pos', 'zero', 'len'], outputs: ['posS'] },
    { op: 'Add', inputs: ['x', 'posS'], outputs: ['h'] },
    { op: 'MatMul', inputs: ['h', 'wq'], outputs: ['q'] },
    { op: 'MatMul', inputs: ['h', 'wk'], outputs: ['k'] },
    { op: 'MatMul', inputs: ['h', 'wv'], outputs: ['v'] },
    { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: [0, 2, 1] } },
    { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['sc'] },
    { op: 'Mul', inputs: ['sc', 'scale'], outputs: ['sc2'] },
    { op: 'Softmax', inputs: ['sc2'], outputs: ['p'], attrs: { axis: -1 } },
    { op: 'MatMul', inputs: ['p', 'v'], outputs: ['ctx'] },
    { op: 'Add', inputs: ['ctx', 'h'], outputs: ['y'] },
    { op: 'ReduceMean', inputs: ['y'], outputs: ['pooled'], attrs: { axes: [1], keepdims: 0 } },
];

const weights = (D: number, MAXPOS: number) => [
    { name: 'pos', dims: [MAXPOS, D], floats: rnd(MAXPOS * D, 1) },
    { name: 'wq', dims: [D, D], floats: rnd(D * D, 2) },
    { name: 'wk', dims: [D, D], floats: rnd(D * D, 3) },
    { name: 'wv', dims: [D, D], floats: rnd(D * D, 4) },
    { name: 'scale', dims: [1], floats: [0.25] },
];

export function encoderModel(D: number, MAXPOS: number): Uint8Array {
  return buildModel(ENCODER, [{ name: 'x', shape: [1, 'S', D] }], [{ name: 'y', shape: [1, 'S', D] }, { name: 'pooled', shape: [1, D] }], 15, weights(D, MAXPOS));
}

/**
 * The encoder over token ids: ids int64 [B, S] (a batch and a sequence length, both symbolic) through an
 * embedding table (VOCAB rows); y [B, S, D], pooled [B, D]. The model of tests/codegen/symbolic-both.test.ts.
 */
export function idsEncoderModel(D: number, MAXPOS: number, VOCAB: number): Uint8Array {
  return buildModel([{ op: 'Gather', inputs: ['emb', 'ids'], outputs: ['x'] }, ...ENCODER],
    [{ name: 'ids', dtype: 7, shape: ['B', 'S'] }], [{ name: 'y', shape: ['B', 'S', D] }, { name: 'pooled', shape: ['B', D] }], 15,
    [...weights(D, MAXPOS), { name: 'emb', dims: [VOCAB, D], floats: rnd(VOCAB * D, 5) }]);
}
