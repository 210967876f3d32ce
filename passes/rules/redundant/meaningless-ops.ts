/**
 * Family 'meaningless-op': ops that compute nothing whatever their parameters — Identity, Dropout
 * at inference, single-input Concat/Sum/Max/Min/Mean, one-output Split. Each is replaced by its input.
 */
import { P, type Rule } from '../../rewrite/pattern.ts';
import { all, allEqual, canForward, constInput, extraOutputsUnused, isOmitted } from './util.ts';

const FAMILY = 'meaningless-op';

export const meaninglessOpRules: Rule[] = [
  {
    name: 'identity',
    family: FAMILY,
    summary: 'Identity(x) -> x',
    pattern: P.op('Identity', [P.any('x')]),
    guard: (m, env) => canForward(m, env, m.values.x),
    replace: (m) => [m.values.x],
  },
  {
    name: 'dropout-inference',
    family: FAMILY,
    summary: 'Dropout(x) -> x when not training (training_mode absent or constant false, or ratio constant 0) and the mask is unused',
    pattern: P.op('Dropout', [P.any('x')]),
    guard: (m, env) => all(
      () => {
        const n = m.root;
        if (!isOmitted(n, 2)) {
          const tm = constInput(n, 2);
          const ratio = constInput(n, 1);
          const inference = tm !== undefined && allEqual(tm, 0);
          const noDrop = ratio !== undefined && allEqual(ratio, 0);
          if (!inference && !noDrop) return 'training_mode is not a constant false (and ratio is not constant 0)';
        }
        return true;
      },
      () => extraOutputsUnused(m.root, env),
      () => canForward(m, env, m.values.x),
    ),
    replace: (m) => [m.values.x],
  },
  {
    name: 'single-input-variadic',
    family: FAMILY,
    summary: 'Concat/Sum/Max/Min/Mean of one input -> the input',
    pattern: P.op(['Concat', 'Sum', 'Max', 'Min', 'Mean'], [P.any('x')]),
    guard: (m, env) => (m.root.inputs.length !== 1 ? `${m.root.inputs.length} inputs` : canForward(m, env, m.values.x)),
    replace: (m) => [m.values.x],
  },
  {
    name: 'single-output-split',
    family: FAMILY,
    summary: 'Split with one output -> its input',
    pattern: P.op('Split', [P.any('x')]),
    guard: (m, env) => (m.root.outputs.length !== 1 ? `${m.root.outputs.length} outputs` : canForward(m, env, m.values.x)),
    replace: (m) => [m.values.x],
  },
];
