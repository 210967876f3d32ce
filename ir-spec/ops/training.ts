/**
 * Optimizer update rules of the ai.onnx.preview.training domain (opset 1): Adagrad, Adam, Momentum.
 * Inputs: R (learning rate scalar), T (step count scalar), then groups of per-tensor values; the
 * outputs are the updated groups. Deterministic elementwise math.
 */
import { Tensor, diag, nodeLocation, type DType } from '@aic/core';
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, OpDef, OutType } from '../types.ts';

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

function trainingOp(name: string, summary: string, groups: string[], outs: string[], attrs: OpDef['attrs'],
  f: (ctx: EvalCtx) => (r: number, t: number, v: number[]) => number[]): OpDef {
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
    eval: (ctx) => optimizerEval(ctx, groups.length, outs.length, f(ctx)),
  });
}

trainingOp('Adagrad', 'Adagrad update: r = R/(1+T*decay); g = norm*X+G; H+=g^2; X -= r*g/(sqrt(H)+eps)',
  ['X', 'G', 'H'], ['X_new', 'H_new'], {
    decay_factor: { type: 'float', default: 0 },
    epsilon: { type: 'float', default: 1e-6 },
    norm_coefficient: { type: 'float', default: 0 },
  }, (ctx) => {
    const decay = ctx.attrs.float('decay_factor'), eps = ctx.attrs.float('epsilon'), norm = ctx.attrs.float('norm_coefficient');
    return (R, T, [x, g, h]) => {
      const r = R / (1 + T * decay);
      const gr = norm * x + g;
      const hn = h + gr * gr;
      return [x - (r * gr) / (Math.sqrt(hn) + eps), hn];
    };
  });

trainingOp('Adam', 'Adam update with bias correction (T > 0) and optional L2 terms before/after the step',
  ['X', 'G', 'V', 'H'], ['X_new', 'V_new', 'H_new'], {
    alpha: { type: 'float', default: 0.9 },
    beta: { type: 'float', default: 0.999 },
    epsilon: { type: 'float', default: 1e-6 },
    norm_coefficient: { type: 'float', default: 0 },
    norm_coefficient_post: { type: 'float', default: 0 },
  }, (ctx) => {
    const a = ctx.attrs.float('alpha'), b = ctx.attrs.float('beta'), eps = ctx.attrs.float('epsilon');
    const norm = ctx.attrs.float('norm_coefficient'), post = ctx.attrs.float('norm_coefficient_post');
    return (R, T, [x, g, v, h]) => {
      const gr = norm * x + g;
      const vn = a * v + (1 - a) * gr;
      const hn = b * h + (1 - b) * gr * gr;
      const hs = Math.sqrt(hn) + eps;
      const ra = T > 0 ? (R * Math.sqrt(1 - b ** T)) / (1 - a ** T) : R;
      const xn = x - ra * (vn / hs);
      return [(1 - post) * xn, vn, hn];
    };
  });

trainingOp('Momentum', 'SGD with momentum: V = alpha*V + beta*(norm*X+G) (beta=1 at T=0); standard or nesterov step',
  ['X', 'G', 'V'], ['X_new', 'V_new'], {
    alpha: { type: 'float', required: true },
    beta: { type: 'float', required: true },
    mode: { type: 'string', required: true, doc: "'standard' or 'nesterov'" },
    norm_coefficient: { type: 'float', required: true },
  }, (ctx) => {
    const a = ctx.attrs.float('alpha'), b = ctx.attrs.float('beta'), norm = ctx.attrs.float('norm_coefficient');
    const mode = ctx.attrs.str('mode');
    if (mode !== 'standard' && mode !== 'nesterov') throw diag.unsupportedAttr({ op: 'Momentum', domain: DOMAIN }, 'mode', mode);
    return (R, T, [x, g, v]) => {
      const gr = norm * x + g;
      const ba = T > 0 ? b : 1;
      const vn = a * v + ba * gr;
      return [mode === 'standard' ? x - R * vn : x - R * (gr + a * vn), vn];
    };
  });
