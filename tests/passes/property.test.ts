/**
 * Property test for the optimizer: randomly generated small graphs (seeded, reproducible) compute
 * the same values (rtol 1e-3, atol 1e-4) after the full -O2 and -O3 pipelines as before, keep their
 * output names and signature, and the pipeline leaves its input graph untouched (passes are pure).
 *
 * Graphs have 3-12 nodes drawn from: unary activations, binary ops with broadcast constants or
 * other values (residuals), identity-like no-ops (x*1, x+0, Identity, same-type Cast, Dropout),
 * repeated subexpressions, Constant nodes and constant-only arithmetic, MatMul/Gemm (+ bias),
 * Reshape/Flatten/Transpose, Conv (+BatchNormalization) (+Relu/Clip/SiLU), depthwise Conv, pooling,
 * Softmax. Image graphs use channel counts that are not multiples of 4 too (NC4HW4 padding).
 * A failure prints the seed and the graph in DSL form; reproduce one with AIC_PROPERTY_SEED=N.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { printGraph } from '@aic/dsl';
import { compareOutputs, pipelineFor, randomFeeds, runPipeline } from '@aic/passes';

const COUNT = 50;
const FIRST_SEED = Number(process.env.AIC_PROPERTY_SEED ?? 1);

/** mulberry32: small, seeded, good enough for test generation. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const uniform = (lo: number, hi: number) => lo + next() * (hi - lo);
  return { next, int, pick, uniform, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

const I = (value: number): Attr => ({ type: 'int', value });
const F = (value: number): Attr => ({ type: 'float', value });
const INTS = (value: number[]): Attr => ({ type: 'ints', value });

class Builder {
  g = new Graph('prop');
  private n = 0;
  constructor(readonly r: Rng) { this.g.opsets = { '': 17 }; }

  const(shape: number[], lo = -1, hi = 1, values?: number[]): Value {
    const t = new Tensor('float32', shape);
    for (let i = 0; i < t.size; i++) t.num[i] = values ? values[i % values.length] : this.r.uniform(lo, hi);
    const v = new Value(`c${this.n++}`, { dtype: 'float32', shape: shape.slice() });
    v.const = t;
    this.g.constants.push(v);
    return v;
  }
  i64(values: number[]): Value {
    const v = new Value(`s${this.n++}`, { dtype: 'int64', shape: [values.length] });
    v.const = Tensor.fromNumbers('int64', [values.length], values);
    this.g.constants.push(v);
    return v;
  }
  node(op: string, inputs: (Value | null)[], attrs: Record<string, Attr> = {}): Value {
    const out = new Value(`v${this.n++}`, { dtype: 'float32', shape: undefined });
    this.g.nodes.push(new Node({ op, name: `${op.toLowerCase()}_${this.n}`, inputs, outputs: [out], attrs }));
    inferGraph(this.g, { strict: true });
    return out;
  }
}

const shapeOf = (v: Value) => v.shape as number[];

/** One random graph: a few inputs, 3-12 nodes, one or two outputs. */
function randomGraph(seed: number): Graph {
  const r = prng(seed);
  const b = new Builder(r);
  const image = r.chance(0.55);
  const inShape = image ? [1, r.pick([1, 2, 3, 4, 5, 8]), r.int(3, 5), r.int(3, 5)] : [r.int(1, 3), r.int(2, 6)];
  const x = new Value('x', { dtype: 'float32', shape: inShape });
  b.g.inputs.push(x);
  const pool: Value[] = [x];
  if (r.chance(0.3)) { const y = new Value('y', { dtype: 'float32', shape: inShape.slice() }); b.g.inputs.push(y); pool.push(y); }
  const target = r.int(3, 12);
  const recent = () => pool[Math.max(0, pool.length - 1 - Math.floor(r.next() * r.next() * pool.length))];

  const steps: ((a: Value) => Value | undefined)[] = [
    // unary activations and no-ops
    (a) => b.node(r.pick(['Relu', 'Sigmoid', 'Tanh', 'Neg', 'Abs']), [a]),
    (a) => (r.chance(0.5) ? b.node('LeakyRelu', [a], { alpha: F(0.1) }) : b.node('HardSigmoid', [a], { alpha: F(0.2), beta: F(0.5) })),
    (a) => b.node('Clip', [a, b.const([], 0, 0, [r.pick([-0.5, 0])]), b.const([], 0, 0, [r.pick([0.5, 6])])]),
    (a) => b.node(r.pick(['Identity', 'Dropout']), [a]),
    (a) => b.node('Cast', [a], { to: I(1) }), // float32 -> float32
    // binary with a broadcast constant (Div by constants away from zero)
    (a) => {
      const s = shapeOf(a);
      const cs = r.pick([[], [s[s.length - 1]], s.length === 4 ? [s[1], 1, 1] : [1, s[s.length - 1]]]);
      const op = r.pick(['Add', 'Sub', 'Mul', 'Div']);
      const c = op === 'Div' ? b.const(cs, 0, 0, [r.pick([-2, -0.5, 0.5, 1.5, 2])]) : b.const(cs);
      return r.chance(0.7) || op === 'Sub' || op === 'Div' ? b.node(op, [a, c]) : b.node(op, [c, a]);
    },
    // identity arithmetic: x*1, x+0, x-0, x/1
    (a) => {
      const [op, v] = r.pick([['Mul', 1], ['Add', 0], ['Sub', 0], ['Div', 1]] as const);
      return b.node(op, [a, b.const(r.chance(0.5) ? [] : [shapeOf(a)[shapeOf(a).length - 1]], 0, 0, [v])]);
    },
    // binary with another value of the same shape (residuals, shared operands)
    (a) => {
      const other = pool.filter((v) => v !== a && shapeOf(v).join() === shapeOf(a).join());
      return other.length ? b.node(r.pick(['Add', 'Mul', 'Sub']), [a, r.pick(other)]) : undefined;
    },
    // a repeated subexpression (CSE)
    (a) => {
      const op = r.pick(['Relu', 'Sigmoid', 'Tanh']);
      const p = b.node(op, [a]), q = b.node(op, [a]);
      return b.node('Add', [p, q]);
    },
    // Constant nodes and constant-only arithmetic (folding)
    (a) => {
      const s = shapeOf(a);
      const last = s[s.length - 1];
      const t = Tensor.fromNumbers('float32', [last], Array.from({ length: last }, () => r.uniform(-1, 1)));
      const k = b.node('Constant', [], { value: { type: 'tensor', value: t } });
      const k2 = b.node(r.pick(['Mul', 'Add']), [k, b.const([last])]);
      return b.node(r.pick(['Add', 'Mul']), [a, k2]);
    },
    // softmax over the last axis
    (a) => b.node('Softmax', [a], { axis: I(-1) }),
  ];
  const imageSteps: ((a: Value) => Value | undefined)[] = [
    // Conv (+BN) (+activation)
    (a) => {
      const [, c, h, w] = shapeOf(a);
      const k = r.pick([1, 3]);
      const co = r.pick([1, 2, 3, 4, 6, 8]);
      const pad = k === 3 && (r.chance(0.7) || h < 3 || w < 3) ? 1 : 0;
      const bias = r.chance(0.6) ? b.const([co], -0.2, 0.2) : null;
      let y = b.node('Conv', bias ? [a, b.const([co, c, k, k], -0.5, 0.5), bias] : [a, b.const([co, c, k, k], -0.5, 0.5)],
        { kernel_shape: INTS([k, k]), pads: INTS([pad, pad, pad, pad]) });
      void h; void w;
      if (r.chance(0.6)) {
        y = b.node('BatchNormalization', [y, b.const([co], 0.5, 1.5), b.const([co], -0.3, 0.3), b.const([co], -0.3, 0.3), b.const([co], 0.5, 1.5)], { epsilon: F(1e-5) });
      }
      const act = r.pick(['none', 'Relu', 'Clip', 'SiLU']);
      if (act === 'Relu') y = b.node('Relu', [y]);
      else if (act === 'Clip') y = b.node('Clip', [y, b.const([], 0, 0, [0]), b.const([], 0, 0, [6])]);
      else if (act === 'SiLU') y = b.node('Mul', [y, b.node('Sigmoid', [y])]);
      return y;
    },
    // depthwise 3x3 conv
    (a) => {
      const c = shapeOf(a)[1];
      return b.node('Conv', [a, b.const([c, 1, 3, 3], -0.5, 0.5), b.const([c], -0.2, 0.2)], { group: I(c), pads: INTS([1, 1, 1, 1]) });
    },
    (a) => b.node('BatchNormalization', [a, ...[1, 0, 0, 1].map((m) => b.const([shapeOf(a)[1]], m ? 0.5 : -0.3, m ? 1.5 : 0.3))], { epsilon: F(1e-5) }),
    (a) => (r.chance(0.5) || Math.min(shapeOf(a)[2], shapeOf(a)[3]) < 2 ? b.node('GlobalAveragePool', [a]) : b.node('MaxPool', [a], { kernel_shape: INTS([2, 2]), strides: INTS([1, 1]) })),
    (a) => b.node('Transpose', [a], { perm: INTS([0, 1, 3, 2]) }),
    (a) => (r.chance(0.5) ? b.node('Flatten', [a], { axis: I(1) }) : b.node('Reshape', [a, b.i64([1, -1])])),
  ];
  const matrixSteps: ((a: Value) => Value | undefined)[] = [
    (a) => {
      const s = shapeOf(a);
      const m = r.int(2, 6);
      const y = b.node('MatMul', [a, b.const([s[s.length - 1], m], -0.7, 0.7)]);
      return r.chance(0.6) ? b.node('Add', [y, b.const([m], -0.3, 0.3)]) : y;
    },
    (a) => {
      const s = shapeOf(a);
      if (s.length !== 2) return undefined;
      const m = r.int(2, 6);
      return b.node('Gemm', [a, b.const([m, s[1]], -0.7, 0.7), b.const([m], -0.3, 0.3)], { transB: I(1) });
    },
    (a) => (shapeOf(a).length === 2 ? b.node('Transpose', [a], { perm: INTS([1, 0]) }) : undefined),
    (a) => {
      const s = shapeOf(a);
      const n = s.reduce((p, q) => p * q, 1);
      return b.node('Reshape', [a, b.i64(r.pick([[n], [1, n], [n, 1], s.slice().reverse()]))]);
    },
  ];

  let guard = 0;
  while (b.g.nodes.length < target && guard++ < 100) {
    const a = recent();
    const is4d = shapeOf(a).length === 4;
    const all = [...steps, ...(is4d ? imageSteps : []), ...(!is4d ? matrixSteps : []), ...(is4d ? imageSteps : [])];
    const [nn, nc] = [b.g.nodes.length, b.g.constants.length];
    let v: Value | undefined, undo = false;
    try { v = r.pick(all)(a); undo = b.g.nodes.length > 12; } catch { undo = true; } // over budget, or shapes don't allow it
    if (undo) { b.g.nodes.length = nn; b.g.constants.length = nc; continue; }
    if (v) pool.push(v);
  }
  const last = pool[pool.length - 1];
  b.g.outputs = [last];
  const others = pool.filter((v) => v !== last && !b.g.inputs.includes(v));
  if (others.length && r.chance(0.3)) b.g.outputs.push(r.pick(others));
  // name outputs like a model would
  b.g.outputs.forEach((v, i) => { v.name = `out${i}`; });
  inferGraph(b.g, { strict: true });
  return b.g;
}

function snapshot(g: Graph): string { return printGraph(g); }

describe('optimizer property: random graphs keep their values', () => {
  const seeds = Array.from({ length: COUNT }, (_, i) => FIRST_SEED + i);
  const graphs = seeds.map((s) => ({ seed: s, g: randomGraph(s) }));

  it('the generator makes 3-12 node graphs with a varied op mix', () => {
    const ops = new Set<string>();
    for (const { g } of graphs) {
      expect(g.nodes.length).toBeGreaterThanOrEqual(3);
      expect(g.nodes.length).toBeLessThanOrEqual(12);
      g.nodes.forEach((n) => ops.add(n.op));
    }
    for (const op of ['Conv', 'BatchNormalization', 'Relu', 'MatMul', 'Reshape', 'Transpose', 'Add', 'Constant']) expect(ops).toContain(op);
  });

  for (const level of [2, 3]) {
    it(`-O${level}: ${COUNT} graphs equal within rtol 1e-3, atol 1e-4`, () => {
      const failures: string[] = [];
      for (const { seed, g } of graphs) {
        const before = snapshot(g);
        const feeds: Map<string, RValue> = randomFeeds(g, seed);
        const want = run(g, feeds);
        let why: string | undefined;
        let printed = '';
        try {
          const { graph } = runPipeline(g, pipelineFor(level), { verifyEach: 'structure' });
          printed = printGraph(graph);
          if (graph.outputs.map((v) => v.name).join() !== g.outputs.map((v) => v.name).join()) why = `outputs renamed: ${graph.outputs.map((v) => v.name).join(', ')}`;
          else if (graph.inputs.map((v) => `${v.name}:${v.shape}`).join() !== g.inputs.map((v) => `${v.name}:${v.shape}`).join()) why = 'inputs changed';
          else why = compareOutputs(run(graph, feeds), want, g.outputs.map((v) => v.name), 1e-3, 1e-4);
          if (!why && snapshot(g) !== before) why = 'the pipeline modified its input graph';
        } catch (e) {
          why = `threw: ${(e as Error).message}`;
        }
        if (why) failures.push(`seed ${seed}: ${why}\n--- input ---\n${before}\n--- -O${level} ---\n${printed}`);
      }
      expect(failures.length, failures.slice(0, 3).join('\n\n')).toBe(0);
    });
  }
});
