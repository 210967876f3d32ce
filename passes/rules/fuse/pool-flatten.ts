/**
 * Flatten(GlobalAveragePool(x)) -> aic.GlobalAveragePoolFlatten(x) (ir-spec/ops/global-pool-flatten.ts):
 * the classifier head of most CNNs. One pooling kernel instead of the pooling kernel plus the copy a
 * Flatten (or a Reshape to [N, C]) is on every compiled target; the same mean in the same order.
 * (Not ReduceMean: its kernel accumulates in f64, slower than GlobalAveragePool's f32 sum.)
 */
import { P, type Rule } from '../../rewrite/pattern.ts';
import { FLOAT_DTYPES, all, attrInt, dtypeIn, kernel, staticShape } from './util.ts';

const rule = (op: 'Flatten' | 'Reshape'): Rule => ({
  name: 'global-pool-flatten', family: 'fuse',
  summary: `${op}(GlobalAveragePool(x)) to [N, C] -> aic.GlobalAveragePoolFlatten(x)`,
  pattern: P.op(op, [P.op('GlobalAveragePool', [P.any('x')], { bind: 'gap' })], { bind: 'root' }),
  guard: (m, env) => {
    const x = m.values.x, y = m.root.outputs[0];
    return all(
      () => dtypeIn(x, FLOAT_DTYPES),
      () => staticShape(x),
      () => staticShape(y),
      () => (x.shape!.length >= 3 ? true : `rank ${x.shape!.length}: not an image`),
      () => (op === 'Flatten' && attrInt(m.root, 'axis', 1) !== 1 ? `Flatten axis ${attrInt(m.root, 'axis', 1)}` : true),
      () => (y.shape!.length === 2 && y.shape![0] === x.shape![0] && y.shape![1] === x.shape![1] ? true : `result [${y.shape!.join(', ')}] is not [N, C]`),
      () => kernel(env, 'GlobalAveragePoolFlatten'),
    );
  },
  replace: (m, b) => b.op('GlobalAveragePoolFlatten', [m.values.x], {}, { domain: 'aic' }),
});

export const poolFlattenRules: Rule[] = [rule('Flatten'), rule('Reshape')];
