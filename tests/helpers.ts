/** Test helpers: build a one-node graph for an op and run it through the interpreter. */
import { Graph, Node, Tensor, Value, type Attr, type DType, type RValue } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { run } from '@aic/interp';

export function t(dtype: DType, shape: number[], values: ArrayLike<number>): Tensor {
  return Tensor.fromNumbers(dtype, shape, values);
}
export const f32 = (shape: number[], values: ArrayLike<number>) => t('float32', shape, values);
export const i64 = (shape: number[], values: ArrayLike<number>) => t('int64', shape, values);

/** attribute shorthands */
export const A = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  str: (value: string): Attr => ({ type: 'string', value }),
  ints: (value: number[]): Attr => ({ type: 'ints', value }),
  floats: (value: number[]): Attr => ({ type: 'floats', value }),
  tensor: (value: Tensor): Attr => ({ type: 'tensor', value }),
};

/**
 * Run `op` on the inputs (null = omitted optional input). Inputs listed in `constIdx` become graph
 * constants (so shape inference sees their values); the rest are graph inputs.
 * Returns the outputs; also runs shape inference and checks it agrees with the computed shapes.
 */
export function evalOp(op: string, inputs: (RValue | undefined)[], attrs: Record<string, Attr> = {},
  opts: { outputs?: number; domain?: string; constIdx?: number[] } = {}): Tensor[] {
  const g = new Graph('test');
  const feeds = new Map<string, RValue>();
  const ins = inputs.map((x, i) => {
    if (x === undefined) return null;
    const tensor = x instanceof Tensor ? x : null;
    const v = new Value(`in${i}`, tensor ? { dtype: tensor.dtype, shape: tensor.shape.slice() } : { dtype: 'float32', shape: undefined },
      Array.isArray(x) ? 'sequence' : 'tensor');
    if (tensor && opts.constIdx?.includes(i)) { v.const = tensor; g.constants.push(v); }
    else { g.inputs.push(v); feeds.set(v.name, x); }
    return v;
  });
  const outs = Array.from({ length: opts.outputs ?? 1 }, (_, i) => new Value(`out${i}`, { dtype: 'float32', shape: undefined }));
  g.nodes.push(new Node({ op, domain: opts.domain, inputs: ins, outputs: outs, attrs }));
  g.outputs = outs;
  inferGraph(g, { strict: true });
  const res = run(g, feeds);
  return outs.map((o) => {
    const r = res.get(o.name) as Tensor;
    if (r instanceof Tensor && o.type.shape) {
      o.type.shape.forEach((d, k) => {
        if (typeof d === 'number' && d !== r.shape[k]) {
          throw new Error(`${op}: inferred shape [${o.type.shape!.join(', ')}] but computed [${r.shape.join(', ')}]`);
        }
      });
      if (o.type.dtype !== r.dtype) throw new Error(`${op}: inferred dtype ${o.type.dtype} but computed ${r.dtype}`);
    }
    return r;
  });
}

/** Values of a tensor as a plain array, rounded to `digits` decimals for readable expectations. */
export function vals(x: Tensor, digits?: number): number[] {
  const a = Array.from(x.num as ArrayLike<number>);
  return digits === undefined ? a : a.map((v) => Number(v.toFixed(digits)));
}

/** y = a @ B with B [K, N] a constant (sin values), and a feed for a (column-packed MatMul tests) */
export function constMatmul(M: number | number[], K: number, N: number): { g: Graph; feeds: Map<string, Tensor> } {
  const g = new Graph('mm');
  const sines = (n: number, s: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
  // M as several dims: A [...M, K] (rows over several axes, as a channels-last [1, H, W, C] activation)
  const rows = typeof M === 'number' ? [M] : M, numRows = rows.reduce((p, d) => p * d, 1);
  const a = new Value('a', { dtype: 'float32', shape: [...rows, K] });
  const b = new Value('b', { dtype: 'float32', shape: [K, N] });
  b.const = Tensor.fromNumbers('float32', [K, N], sines(K * N, 1));
  g.inputs.push(a); g.constants.push(b);
  const y = new Value('y', { dtype: 'float32', shape: undefined });
  g.nodes.push(new Node({ op: 'MatMul', domain: '', inputs: [a, b], outputs: [y], attrs: {} }));
  g.outputs.push(y);
  inferGraph(g);
  return { g, feeds: new Map([['a', Tensor.fromNumbers('float32', [...rows, K], sines(numRows * K, 2))]]) };
}
