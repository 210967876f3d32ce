/**
 * Optimizer update rules of the ai.onnx.preview.training domain (opset 1): Adagrad, Adam, Momentum.
 * Inputs: R (learning rate scalar), T (step count scalar), then groups of per-tensor values; the
 * outputs are the updated groups. Deterministic elementwise math.
 */
import { Tensor, diag, nodeLocation, type DType } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { AttrReader, EvalCtx, InferCtx, LowerCtx, OpDef, OutType } from '../types.ts';
import { E, flatIndex, type Expr } from '@aic/loop-ir';

const DOMAIN = 'ai.onnx.preview.training';
const TRAIN_FLOATS: readonly DType[] = ['float32', 'float64'];

/**
 * `groups` = number of per-tensor groups (Adagrad X,G,H = 3); the variadic tail is split into
 * `groups` equal parts; outputs are `outGroups` parts, each shaped like the matching X.
 */
function optimizerInfer(ctx: InferCtx, groups: number, outGroups: number): OutType[] {
  const loc = nodeLocation(ctx.node);
  const n = ctx.inputTypes.length - 2;
  if (n <= 0 || n % groups !== 0) {
    throw diag.verify(ctx.node.op, `expects R, T and ${groups} equal groups of tensors, got ${ctx.inputTypes.length} inputs`, loc);
  }
  const k = n / groups;
  const r = ctx.type(0), t = ctx.type(1);
  if (!TRAIN_FLOATS.includes(r.dtype)) throw diag.unsupportedDtype(`${ctx.node.op} R`, r.dtype, loc);
  if (t.dtype !== 'int64') throw diag.typeMismatch(`${ctx.node.op} T`, 'int64', t.dtype, loc);
  for (let i = 0; i < k; i++) {
    const x = ctx.type(2 + i);
    if (!TRAIN_FLOATS.includes(x.dtype)) throw diag.unsupportedDtype(`${ctx.node.op} input ${2 + i}`, x.dtype, loc);
    for (let g = 1; g < groups; g++) {
      const o = ctx.type(2 + g * k + i);
      if (o.dtype !== x.dtype) throw diag.typeMismatch(`${ctx.node.op} input ${2 + g * k + i}`, x.dtype, o.dtype, loc);
      if (x.shape && o.shape && (x.shape.length !== o.shape.length ||
        x.shape.some((d, j) => typeof d === 'number' && typeof o.shape![j] === 'number' && d !== o.shape![j]))) {
        throw diag.shapeMismatch(ctx.node.op, `input ${2 + g * k + i} [${o.shape.join(', ')}] does not match X [${x.shape.join(', ')}]`, loc);
      }
    }
  }
  const outs: OutType[] = [];
  for (let g = 0; g < outGroups; g++) for (let i = 0; i < k; i++) {
    const x = ctx.type(2 + i);
    outs.push({ dtype: x.dtype, shape: x.shape?.slice() });
  }
  return outs.slice(0, ctx.outputCount);
}

/**
 * Evaluate an elementwise optimizer: `f(r, t, vals)` receives the scalar rate/step and one element
 * of each group, and returns one element for each output group.
 */
function optimizerEval(ctx: EvalCtx, groups: number, outGroups: number,
  f: (r: number, t: number, v: number[]) => number[]): Tensor[] {
  const n = ctx.inputs.length - 2;
  const k = n / groups;
  const r = ctx.input(0).scalar(), t = ctx.input(1).scalar();
  const outs: Tensor[] = [];
  const res: Tensor[][] = Array.from({ length: outGroups }, () => []);
  for (let i = 0; i < k; i++) {
    const ins = Array.from({ length: groups }, (_, g) => ctx.input(2 + g * k + i));
    const x = ins[0];
    for (const o of ins) {
      if (o.size !== x.size) throw diag.shapeMismatch(ctx.node.op, `[${o.shape.join(', ')}] does not match X [${x.shape.join(', ')}]`);
    }
    const os = Array.from({ length: outGroups }, () => new Tensor(x.dtype, x.shape));
    const vals = new Array<number>(groups);
    for (let e = 0; e < x.size; e++) {
      for (let g = 0; g < groups; g++) vals[g] = ins[g].num[e];
      const y = f(r, t, vals);
      for (let g = 0; g < outGroups; g++) os[g].num[e] = y[g];
    }
    os.forEach((o, g) => res[g].push(o));
  }
  for (const g of res) outs.push(...g);
  return outs.slice(0, ctx.outputCount);
}

/**
 * The arithmetic an update rule is written in: JS numbers for the reference, f64 loop-IR expressions
 * for the compute definition, so both follow the same operations in the same order.
 */
interface Arith<V> {
  c(v: number): V;
  add(a: V, b: V): V; sub(a: V, b: V): V; mul(a: V, b: V): V; div(a: V, b: V): V;
  sqrt(a: V): V; pow(a: V, b: V): V;
  /** t > 0 ? a : b */
  ifPos(t: V, a: V, b: V): V;
}
const NUM: Arith<number> = {
  c: (v) => v, add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  sqrt: Math.sqrt, pow: (a, b) => a ** b, ifPos: (t, a, b) => (t > 0 ? a : b),
};
const EXPR: Arith<Expr> = {
  c: (v) => E.c(v, 'f64'), add: E.add, sub: E.sub, mul: E.mul, div: E.div,
  sqrt: (a) => E.call('sqrt', a), pow: (a, b) => E.bin('pow', a, b),
  ifPos: (t, a, b) => E.select(E.gt(t, E.c(0, 'f64')), a, b),
};
/** An update rule: (rate R, step T, one element per input group) -> one element per output group. */
type Rule = <V>(A: Arith<V>, R: V, T: V, v: V[]) => V[];

/** Each output element recomputes the rule from the matching elements of every group, in f64. */
function optimizerLower(ctx: LowerCtx, groups: number, rule: Rule): void {
  const k = (ctx.inputs.length - 2) / groups;
  const R = ctx.inputs[0], T = ctx.inputs[1];
  if (!R || !T || !Number.isInteger(k)) ctx.unsupported('malformed optimizer inputs');
  const r = E.cast(R.flat(E.i(0)), 'f64'), t = E.cast(T.flat(E.i(0)), 'f64');
  ctx.outputs.forEach((out, o) => {
    if (!ctx.node.outputs[o]?.name) return;
    const g = Math.floor(o / k), i = o % k;
    ctx.compute(o, (idx) => {
      const e = flatIndex(idx, out.shape);
      const vals = Array.from({ length: groups }, (_, q) => E.cast(ctx.inputs[2 + q * k + i]!.flat(e), 'f64'));
      return E.cast(rule(EXPR, r, t, vals)[g], out.dtype);
    });
  });
}

function trainingOp(name: string, summary: string, groups: string[], outs: string[], attrs: OpDef['attrs'],
  rule: (attrs: AttrReader) => Rule): OpDef {
  return defineOp({
    name, domain: DOMAIN, category: 'training', summary,
    types: { T1: TRAIN_FLOATS, T2: ['int64'], T3: TRAIN_FLOATS },
    inputs: [
      { name: 'R', type: 'T1', doc: 'learning rate (scalar)' },
      { name: 'T', type: 'T2', doc: 'update count (scalar)' },
      { name: 'inputs', type: 'T3', variadic: true, doc: `groups ${groups.join(', ')} of equal length` },
    ],
    outputs: [{ name: 'outputs', type: 'T3', variadic: true, doc: outs.join(', ') }],
    attrs,
    onnx: { since: 1, domain: DOMAIN },
    infer: (ctx) => optimizerInfer(ctx, groups.length, outs.length),
    eval: (ctx) => {
      const f = rule(ctx.attrs);
      return optimizerEval(ctx, groups.length, outs.length, (R, T, v) => f(NUM, R, T, v));
    },
    lower: (ctx) => optimizerLower(ctx, groups.length, rule(ctx.attrs)),
  });
}

trainingOp('Adagrad', 'Adagrad update: r = R/(1+T*decay); g = norm*X+G; H+=g^2; X -= r*g/(sqrt(H)+eps)',
  ['X', 'G', 'H'], ['X_new', 'H_new'], {
    decay_factor: { type: 'float', default: 0 },
    epsilon: { type: 'float', default: 1e-6 },
    norm_coefficient: { type: 'float', default: 0 },
  }, (attrs) => {
    const decay = attrs.float('decay_factor'), eps = attrs.float('epsilon'), norm = attrs.float('norm_coefficient');
    return (A, R, T, [x, g, h]) => {
      const r = A.div(R, A.add(A.c(1), A.mul(T, A.c(decay))));
      const gr = A.add(A.mul(A.c(norm), x), g);
      const hn = A.add(h, A.mul(gr, gr));
      return [A.sub(x, A.div(A.mul(r, gr), A.add(A.sqrt(hn), A.c(eps)))), hn];
    };
  });

trainingOp('Adam', 'Adam update with bias correction (T > 0) and optional L2 terms before/after the step',
  ['X', 'G', 'V', 'H'], ['X_new', 'V_new', 'H_new'], {
    alpha: { type: 'float', default: 0.9 },
    beta: { type: 'float', default: 0.999 },
    epsilon: { type: 'float', default: 1e-6 },
    norm_coefficient: { type: 'float', default: 0 },
    norm_coefficient_post: { type: 'float', default: 0 },
  }, (attrs) => {
    const a = attrs.float('alpha'), b = attrs.float('beta'), eps = attrs.float('epsilon');
    const norm = attrs.float('norm_coefficient'), post = attrs.float('norm_coefficient_post');
    return (A, R, T, [x, g, v, h]) => {
      const gr = A.add(A.mul(A.c(norm), x), g);
      const vn = A.add(A.mul(A.c(a), v), A.mul(A.c(1 - a), gr));
      const hn = A.add(A.mul(A.c(b), h), A.mul(A.mul(A.c(1 - b), gr), gr));
      const hs = A.add(A.sqrt(hn), A.c(eps));
      const ra = A.ifPos(T, A.div(A.mul(R, A.sqrt(A.sub(A.c(1), A.pow(A.c(b), T)))), A.sub(A.c(1), A.pow(A.c(a), T))), R);
      const xn = A.sub(x, A.mul(ra, A.div(vn, hs)));
      return [A.mul(A.c(1 - post), xn), vn, hn];
    };
  });

trainingOp('Momentum', 'SGD with momentum: V = alpha*V + beta*(norm*X+G) (beta=1 at T=0); standard or nesterov step',
  ['X', 'G', 'V'], ['X_new', 'V_new'], {
    alpha: { type: 'float', required: true },
    beta: { type: 'float', required: true },
    mode: { type: 'string', required: true, doc: "'standard' or 'nesterov'" },
    norm_coefficient: { type: 'float', required: true },
  }, (attrs) => {
    const a = attrs.float('alpha'), b = attrs.float('beta'), norm = attrs.float('norm_coefficient');
    const mode = attrs.str('mode');
    if (mode !== 'standard' && mode !== 'nesterov') throw diag.unsupportedAttr({ op: 'Momentum', domain: DOMAIN }, 'mode', mode);
    return (A, R, T, [x, g, v]) => {
      const gr = A.add(A.mul(A.c(norm), x), g);
      const ba = A.ifPos(T, A.c(b), A.c(1));
      const vn = A.add(A.mul(A.c(a), v), A.mul(ba, gr));
      return [mode === 'standard' ? A.sub(x, A.mul(R, vn)) : A.sub(x, A.mul(R, A.add(gr, A.mul(A.c(a), vn)))), vn];
    };
  });
