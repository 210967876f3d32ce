/**
 * The kernel-level directives `inline T` and `compute-at T at LOOP` never change results: a two-stage
 * kernel (padding/scaling stage into a temp + a 3x3 reduction over it, sizes that splits don't divide)
 * gives the unscheduled values under every combination, and a real padded Conv program does too.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, type Attr } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import {
  E, LoopInterpreter, ScheduleError, applyDirective, initialState, lowerCompute, markComputed, parseDirective, parseKernel, parseScheduleFile,
  printDirective, printKernel, printSchedule, realizeStages, tensorRef, verifyKernel, walkStmt,
  type Buffer, type ComputeStage, type Directive, type Stage, type Stmt,
} from '@aic/loop-ir';
import { C_CAPS, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';

const H = 5, W = 7, P = 1, K = 3;
const buf = (name: string, shape: number[], role: Buffer['role'], scope: Buffer['scope'] = 'global'): Buffer => ({ name, dtype: 'f32', shape, scope, role });

/** T[a, b] = 2 * X[a - 1, b - 1] (0 outside X); Y[i, j] = sum_{ka, kb} T[i + ka, j + kb] * Wt[ka, kb] + 1 */
function twoStage(asExtern: boolean) {
  const X = buf('X', [H, W], 'input'), Wt = buf('Wt', [K, K], 'weight'), Y = buf('Y', [H, W], 'output');
  const T = buf('T', [H + 2 * P, W + 2 * P], 'scratch', 'local');
  const x = tensorRef(X), w = tensorRef(Wt), t = tensorRef(T);
  const [a, b] = [E.v('a'), E.v('b')];
  const pa = E.sub(a, E.i(P)), pb = E.sub(b, E.i(P));
  const inside = E.and(E.and(E.ge(pa, E.i(0)), E.lt(pa, E.i(H))), E.and(E.ge(pb, E.i(0)), E.lt(pb, E.i(W))));
  const pad: ComputeStage = { kind: 'compute', out: T, axes: ['a', 'b'], body: E.select(inside, E.mul(x.at(pa, pb), E.c(2)), E.c(0)) };
  const [i, j, ka, kb] = ['i', 'j', 'ka', 'kb'].map((v) => E.v(v));
  const conv: ComputeStage = {
    kind: 'compute', out: Y, axes: ['i', 'j'],
    body: E.add(E.reduce('sum', [{ name: 'ka', extent: K }, { name: 'kb', extent: K }], E.mul(t.at(E.add(i, ka), E.add(j, kb)), w.at(ka, kb))), E.c(1)),
  };
  let n = 0;
  const fresh = (p: string) => `${p}${n++}`;
  const first: Stage = asExtern ? { kind: 'extern', outs: [], body: markComputed(lowerCompute(pad, fresh), pad) } : pad;
  return { name: 'two', params: [X, Wt, Y], stages: [first, conv], temps: [T], fresh };
}

function run(dirs: Directive[], asExtern = false): { out: number[]; body: Stmt } {
  const k = realizeStages(twoStage(asExtern), dirs);
  verifyKernel(k);
  expect(printKernel(parseKernel(printKernel(k)))).toBe(printKernel(k));
  const mem: Record<string, Float32Array> = {
    X: Float32Array.from({ length: H * W }, (_, q) => ((q * 7) % 13) / 4 - 1),
    Wt: Float32Array.from({ length: K * K }, (_, q) => ((q * 5) % 11) / 8 - 0.5),
    Y: new Float32Array(H * W),
  };
  new LoopInterpreter(mem).runKernel(k);
  return { out: Array.from(mem.Y), body: k.body };
}

const allocs = (s: Stmt) => { const r: string[] = []; walkStmt(s, (x) => { if (x.k === 'alloc') r.push(x.buf.name); }); return r; };
const reads = (s: Stmt, name: string) => JSON.stringify(s).includes(`"buf":"${name}"`);

describe('inline / compute-at directives', () => {
  it('print and parse', () => {
    const ds: Directive[] = [{ d: 'inline', buf: 'T' }, { d: 'compute-at', buf: 'xpad3', at: 'i2_o' }];
    expect(ds.map(printDirective)).toEqual(['inline T', 'compute-at xpad3 at i2_o']);
    for (const d of ds) expect(parseDirective(printDirective(d))).toEqual(d);
    const file = printSchedule('k0_conv', [{ d: 'split', axis: 'j', factor: 4 }, ...ds]);
    expect(parseScheduleFile(file).get('k0_conv')).toEqual([{ d: 'split', axis: 'j', factor: 4 }, ...ds]);
  });

  for (const asExtern of [false, true]) {
    const form = asExtern ? 'recorded extern producer' : 'compute producer';
    const ref = run([], asExtern).out;
    const cases: [string, Directive[]][] = [
      ['inline', [{ d: 'inline', buf: 'T' }]],
      ['inline + tile', [{ d: 'inline', buf: 'T' }, { d: 'tile', axes: ['i', 'j'], factors: [2, 4] }]],
      ['compute-at i', [{ d: 'compute-at', buf: 'T', at: 'i' }]],
      ['compute-at j_o (non-dividing split)', [{ d: 'split', axis: 'j', factor: 4 }, { d: 'compute-at', buf: 'T', at: 'j_o' }]],
      ['compute-at i_o (tiled)', [{ d: 'tile', axes: ['i', 'j'], factors: [2, 3] }, { d: 'compute-at', buf: 'T', at: 'i_o' }]],
      ['compute-at ka (reduction loop)', [{ d: 'compute-at', buf: 'T', at: 'ka' }]],
    ];
    for (const [what, dirs] of cases) {
      it(`${form}: ${what} keeps results`, () => {
        const { out, body } = run(dirs, asExtern);
        expect(out).toEqual(ref);
        // the producer and its temp are gone
        expect(allocs(body)).not.toContain('T');
        expect(reads(body, 'T')).toBe(false);
        if (dirs.some((d) => d.d === 'compute-at')) expect(allocs(body).some((b) => b.startsWith('T_at'))).toBe(true);
      });
    }
  }

  it('refuses what it cannot do, with clear messages', () => {
    const err = (dirs: Directive[], re: RegExp) => {
      expect(() => realizeStages(twoStage(false), dirs)).toThrow(ScheduleError);
      expect(() => realizeStages(twoStage(false), dirs)).toThrow(re);
    };
    err([{ d: 'inline', buf: 'X' }], /not a kernel-private temp/);
    err([{ d: 'compute-at', buf: 'T', at: 'nope' }], /no loop 'nope'/);
    err([{ d: 'fuse', axes: ['ka', 'kb'] }, { d: 'compute-at', buf: 'T', at: 'j' }], /not an affine bounding box/);
    err([{ d: 'vectorize', axis: 'j' }, { d: 'compute-at', buf: 'T', at: 'j' }], /must be serial or unrolled/);
    err([{ d: 'compute-at', buf: 'T', at: 'a' }], /no loop 'a'|imperative|before/);
    expect(() => applyDirective(initialState(twoStage(false).stages[1] as ComputeStage), { d: 'inline', buf: 'T' })).toThrow(/kernel-level/);
    // an extern producer that was not recorded as a compute cannot be inlined
    const src = twoStage(false);
    const pad = src.stages[0] as ComputeStage;
    expect(() => realizeStages({ ...src, stages: [{ kind: 'extern', outs: [], body: lowerCompute(pad, src.fresh) }, src.stages[1]] }, [{ d: 'inline', buf: 'T' }]))
      .toThrow(/imperative stage/);
  });
});

describe('on a real padded Conv kernel (program interpreter)', () => {
  const ints = (value: number[]): Attr => ({ type: 'ints', value });
  function conv1d() {
    const g = new Graph('conv1d');
    const xs = [1, 3, 11], ws = [4, 3, 3];
    const x = new Value('x', { dtype: 'float32', shape: xs }), w = new Value('w', { dtype: 'float32', shape: ws });
    w.const = Tensor.fromNumbers('float32', ws, Array.from({ length: 36 }, (_, q) => ((q * 5) % 11) / 8 - 0.5));
    g.inputs.push(x); g.constants.push(w);
    const y = new Value('y', { dtype: 'float32', shape: undefined });
    g.nodes.push(new Node({ op: 'Conv', domain: '', inputs: [x, w], outputs: [y], attrs: { pads: ints([2, 1]), strides: ints([2]) } }));
    g.outputs.push(y);
    inferGraph(g);
    const feeds = new Map([['x', Tensor.fromNumbers('float32', xs, Array.from({ length: 33 }, (_, q) => ((q * 7) % 13) / 4 - 1))]]);
    return { g, feeds };
  }
  const result = (dirs: (temp: string, loops: string[]) => Directive[]) => {
    const { g, feeds } = conv1d();
    const p = lowerGraph(g, C_CAPS);
    const [name, src] = [...p.sources.entries()][0];
    const temp = src.temps.find((t) => t.name.startsWith('xpad'))!;
    expect(temp).toBeDefined();
    const conv = src.stages.find((s) => s.kind === 'compute') as ComputeStage;
    if (dirs) rescheduleProgram(p, new Map([[name, dirs(temp.name, conv.axes)]]));
    for (const k of p.kernels) verifyKernel(k);
    const text = p.kernels.map(printKernel).join('\n');
    return { out: Array.from(runProgram(p, feeds).get('y')!.num as ArrayLike<number>), text, temp: temp.name };
  };
  const plain = result(() => []).out;
  it('inline of the padding temp', () => {
    const r = result((t) => [{ d: 'inline', buf: t }]);
    expect(r.out).toEqual(plain);
    expect(r.text).not.toContain(r.temp);
  });
  it('compute-at of the padding temp at the output-position loop', () => {
    const r = result((t, axes) => [{ d: 'split', axis: axes[2], factor: 2 }, { d: 'compute-at', buf: t, at: `${axes[2]}_o` }]);
    expect(r.out).toEqual(plain);
    expect(r.text).toContain(`${r.temp}_at`);
  });
});
