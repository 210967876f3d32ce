/**
 * Family 'chains': ops made redundant by their neighbour in the same direction — a Reshape/Flatten
 * of a Reshape/Flatten is one Reshape of the original input; a lossless Cast round trip
 * A -> B -> A (B represents every value of A exactly) is the input. Dead nodes the rewrites leave are
 * removed by the rewrite engine.
 */
import { Tensor, type DType } from '@aic/core';
import { P, type Rule } from '../../rewrite/pattern.ts';
import { all, attrInt, canForward, numbers, type GuardResult } from './util.ts';

const FAMILY = 'chains';

/** The shape operand for Reshape(x, ·) giving the root's result: its own constant when position-free, else [d0, ..., -1] from the static result. */
function chainShape(root: import('@aic/core').Node): number[] | string {
  if (root.op === 'Reshape') {
    const s = root.inputs[1]?.const;
    if (!s) return 'shape is not a constant';
    const spec = numbers(s);
    // 0 copies a dim of the intermediate; with allowzero it is a literal 0
    if (attrInt(root, 'allowzero', 0) !== 0 || !spec.includes(0)) return spec;
  }
  const out = root.outputs[0]!.shape;
  if (!out) return 'result rank unknown';
  const sym = out.filter((d) => typeof d !== 'number').length;
  if (sym > 1) return `result [${out.join(', ')}] has more than one symbolic dim`;
  // a single unknown dim is inferred by -1 (the element count is unchanged along the chain)
  const spec = out.map((d) => (typeof d === 'number' ? d : -1));
  if (spec.includes(0) && attrInt(root, 'allowzero', 0) === 0) return 'result has a zero-size dim';
  return spec;
}

/** Conversions A -> B after which B -> A restores every value of A exactly. */
const LOSSLESS: Partial<Record<DType, DType[]>> = {
  float16: ['float32', 'float64'],
  bfloat16: ['float32', 'float64'],
  float32: ['float64'],
  int8: ['int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'],
  uint8: ['int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float16', 'bfloat16', 'float32', 'float64'],
  int16: ['int32', 'int64', 'float32', 'float64'],
  uint16: ['int32', 'uint32', 'int64', 'uint64', 'float32', 'float64'],
  int32: ['int64', 'float64'],
  uint32: ['int64', 'uint64', 'float64'],
  bool: ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float16', 'bfloat16', 'float32', 'float64'],
};
export function castIsLossless(a: DType, b: DType): boolean {
  return a === b || (LOSSLESS[a]?.includes(b) ?? false);
}

export const chainRules: Rule[] = [
  {
    name: 'reshape-chain',
    family: FAMILY,
    summary: 'Reshape/Flatten(Reshape/Flatten(x)) -> Reshape(x, the last shape) (constant, or static result)',
    pattern: P.op(['Reshape', 'Flatten'], [P.op(['Reshape', 'Flatten'], [P.any('x')], { bind: 'inner' })]),
    guard: (m) => {
      const s = chainShape(m.root);
      return typeof s === 'string' ? s : true;
    },
    replace: (m, b) => {
      const spec = chainShape(m.root) as number[];
      const own = m.root.op === 'Reshape' && m.root.inputs[1]!.const && numbers(m.root.inputs[1]!.const).join() === spec.join();
      const shape = own ? m.root.inputs[1]! : b.constant(Tensor.fromNumbers('int64', [spec.length], spec), `${m.root.outputs[0]!.name}_shape`);
      const allowzero = m.root.op === 'Reshape' ? attrInt(m.root, 'allowzero', 0) : 0;
      return b.op('Reshape', [m.values.x, shape], allowzero ? { allowzero: { type: 'int', value: allowzero } } : {});
    },
  },
  {
    name: 'cast-round-trip',
    family: FAMILY,
    summary: 'Cast(Cast(x: A, to = B), to = A) -> x when B holds every value of A (f16->f32->f16, i32->i64->i32; never f32->i32->f32)',
    pattern: P.op('Cast', [P.op('Cast', [P.any('x')], { bind: 'inner', shared: true })]),
    guard: (m, env) => all(
      (): GuardResult => {
        const a = m.values.x.dtype, b = m.nodes.inner.outputs[0]!.dtype, c = m.root.outputs[0]!.dtype;
        if (c !== a) return `${a} -> ${b} -> ${c} is not a round trip`;
        return castIsLossless(a, b) ? true : `${a} -> ${b} loses values`;
      },
      () => canForward(m, env, m.values.x),
    ),
    replace: (m) => [m.values.x],
  },
];
