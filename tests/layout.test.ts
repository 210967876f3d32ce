/**
 * Tensor layouts: physical <-> logical conversions (packages/core/src/layout.ts), aic.LayoutConvert,
 * and the interpreter running ops on laid-out values with their one reference definition.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value, physicalShape, toLogical, toPhysical, type Layout } from '@aic/core';
import { getOp, inferGraph, makeInferCtx } from '@aic/ir-spec';
import { run } from '@aic/interp';
import { parseGraph } from '@aic/dsl';
import { parsePipeline, runPipeline } from '@aic/passes';
import { A, f32 } from './helpers.ts';

const iota = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => (i + 1) * scale);
let seed = 12345;
const rnd = (n: number) => Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff - 0.5; });

describe('layout conversions', () => {
  it('NC4HW4 pads C = 6 to two blocks of 4 with zeros', () => {
    // [1, 6, 1, 2]: value = 10*c + w
    const x = f32([1, 6, 1, 2], [0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51]);
    const p = toPhysical(x, 'NC4HW4');
    expect(p.shape).toEqual([1, 2, 1, 2, 4]);
    // block 0: w=0 -> c0..3, w=1 -> c0..3; block 1: c4, c5, pad, pad
    expect(p.toNumbers()).toEqual([0, 10, 20, 30, 1, 11, 21, 31, 40, 50, 0, 0, 41, 51, 0, 0]);
    expect(toLogical(p, 'NC4HW4', [1, 6, 1, 2]).toNumbers()).toEqual(x.toNumbers());
  });

  it('round-trips every layout for C not a multiple of 4', () => {
    const shapes: [Layout, number[]][] = [
      ['NC4HW4', [2, 5, 3, 2]], ['NC4HW4', [1, 3, 2, 2]], ['NC4HW4', [1, 8, 1, 1]], ['NHWC', [2, 3, 2, 4]],
      ['OIHW4i4o', [6, 3, 3, 3]], ['OIHW4i4o', [4, 9, 1, 1]], ['OIHW4o', [7, 1, 3, 3]], ['NCHW', [1, 2, 3, 4]],
    ];
    for (const [layout, shape] of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = f32(shape, iota(n));
      const p = toPhysical(x, layout);
      expect(p.shape).toEqual(physicalShape(shape, layout));
      // the data is all there once, the rest is zero padding
      const vals = p.toNumbers();
      expect(vals.filter((v) => v !== 0).sort((a, b) => a - b)).toEqual(iota(n));
      const back = toLogical(p, layout, shape);
      expect(back.shape).toEqual(shape);
      expect(back.toNumbers()).toEqual(x.toNumbers());
    }
  });

  it('OIHW4i4o puts (o, i, y, x) at [o/4, i/4, y, x, i%4, o%4]', () => {
    const w = f32([5, 2, 1, 1], iota(10)); // w[o][i] = 2*o + i + 1
    const p = toPhysical(w, 'OIHW4i4o');
    expect(p.shape).toEqual([2, 1, 1, 1, 4, 4]);
    const at = (o: number, i: number) => p.num[(((o >> 2) * 1 + (i >> 2)) * 4 + (i & 3)) * 4 + (o & 3)];
    for (let o = 0; o < 5; o++) for (let i = 0; i < 2; i++) expect(at(o, i)).toBe(2 * o + i + 1);
    expect(at(1, 3)).toBe(0); // padded input channel
  });

  it('refuses data that does not match the logical shape', () => {
    expect(() => toLogical(new Tensor('float32', [1, 2, 2, 2, 4]), 'NC4HW4', [1, 3, 2, 2])).toThrow(/does not hold/);
    expect(() => toLogical(new Tensor('float32', [1, 1, 2, 2, 4]), 'NC4HW4', [1, 'c', 2, 2])).toThrow(/static/);
  });
});

/** x -> LayoutConvert(NC4HW4) -> Conv (packed weights) -> LayoutConvert(NCHW) -> y, next to a plain Conv. */
function convGraphs(C: number, M: number, group: number, k: number) {
  const H = 5, W = 4;
  const wShape = [M, C / group, k, k];
  const wT = f32(wShape, rnd(wShape.reduce((a, b) => a * b, 1)));
  const bT = f32([M], rnd(M));
  const attrs = { pads: A.ints([1, 1, 1, 1].map((p) => (k === 1 ? 0 : p))), group: A.int(group) };
  const build = (laid: boolean) => {
    const g = new Graph(laid ? 'nc4hw4' : 'nchw');
    const x = new Value('x', { dtype: 'float32', shape: [1, C, H, W] });
    g.inputs.push(x);
    const w = new Value('w', { dtype: 'float32', shape: wShape });
    const b = new Value('b', { dtype: 'float32', shape: [M] });
    w.const = wT; b.const = bT;
    g.constants.push(w, b);
    const y = new Value('y', { dtype: 'float32', shape: [1, M, H, W] });
    if (!laid) {
      g.nodes.push(new Node({ op: 'Conv', inputs: [x, w, b], outputs: [y], attrs }));
    } else {
      const wl: Layout = group === 1 ? 'OIHW4i4o' : 'OIHW4o';
      w.type = { ...w.type, layout: wl };
      w.const = toPhysical(wT, wl);
      const x4 = new Value('x4', { dtype: 'float32', shape: [1, C, H, W], layout: 'NC4HW4' });
      const y4 = new Value('y4', { dtype: 'float32', shape: [1, M, H, W], layout: 'NC4HW4' });
      g.nodes.push(
        new Node({ op: 'LayoutConvert', domain: 'aic', inputs: [x], outputs: [x4], attrs: { from: A.str('NCHW'), to: A.str('NC4HW4') } }),
        new Node({ op: 'Conv', inputs: [x4, w, b], outputs: [y4], attrs }),
        new Node({ op: 'LayoutConvert', domain: 'aic', inputs: [y4], outputs: [y], attrs: { from: A.str('NC4HW4'), to: A.str('NCHW') } }),
      );
    }
    g.outputs.push(y);
    return g;
  };
  const x = f32([1, C, H, W], rnd(C * H * W));
  return { plain: build(false), laid: build(true), x };
}

describe('interpreter on laid-out values', () => {
  for (const [C, M, group, k] of [[3, 6, 1, 3], [6, 5, 1, 1], [6, 6, 6, 3], [8, 4, 2, 3]]) {
    it(`NC4HW4 Conv C=${C} M=${M} group=${group} k=${k} computes the NCHW values`, () => {
      const { plain, laid, x } = convGraphs(C, M, group, k);
      const want = run(plain, { x }).get('y') as Tensor;
      const seen = new Map<string, number[]>();
      const got = run(laid, { x }, { onNode: (n, outs) => seen.set(n.outputs[0].name, [...(outs[0] as Tensor).shape]) }).get('y') as Tensor;
      // at runtime the NC4HW4 values really hold [N, C/4, H, W, 4] data
      expect(seen.get('x4')).toEqual([1, Math.ceil(C / 4), 5, 4, 4]);
      expect(seen.get('y4')).toEqual([1, Math.ceil(M / 4), 5, 4, 4]);
      expect(got.shape).toEqual(want.shape);
      const a = got.toNumbers(), b = want.toNumbers();
      for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    });
  }

  it('NC4HW4 activations keep zero padding lanes', () => {
    const { laid, x } = convGraphs(3, 6, 1, 3);
    let y4: Tensor | undefined;
    run(laid, { x }, { onNode: (n, outs) => { if (n.op === 'Conv') y4 = outs[0] as Tensor; } });
    // M = 6: block 1 lanes 2, 3 are padding
    const d = y4!.num;
    for (let hw = 0; hw < 20; hw++) { expect(d[(20 + hw) * 4 + 2]).toBe(0); expect(d[(20 + hw) * 4 + 3]).toBe(0); }
  });

  it('LayoutConvert infers the target layout and checks the source', () => {
    const { laid } = convGraphs(3, 6, 1, 3);
    const conv = laid.nodes[0];
    const def = getOp('LayoutConvert', 'aic')!;
    const infer = () => def.infer(makeInferCtx(conv, def, (v) => v.const));
    expect(infer()[0]).toEqual({ dtype: 'float32', shape: [1, 3, 5, 4], layout: 'NC4HW4' });
    conv.attrs.from = A.str('NC4HW4');
    conv.inputs[0]!.type = { ...conv.inputs[0]!.type, layout: 'NCHW' };
    expect(infer).toThrow(/stored as NCHW/);
    conv.attrs.from = A.str('NCHW');
    conv.attrs.to = A.str('NCWH');
    expect(infer).toThrow(/NCWH/);
  });

  // needs ir-spec/infer.ts mergeTypes to keep the declared layout (reported to the lead)
  it('inferGraph keeps the layouts of node results', () => {
    const { laid } = convGraphs(3, 6, 1, 3);
    inferGraph(laid);
    expect(laid.nodes.map((n) => n.outputs[0].type.layout)).toEqual(['NC4HW4', 'NC4HW4', undefined]);
  });
});

describe('layout-nc4hw4 pass', () => {
  const src = `graph g(x: f32[1, 4, 2, 2]) -> (y: f32[1, 4, 2, 2]) {
  w: f32[4, 4, 1, 1] = [1.0, 0.5, 0.0, -0.5, 0.25, 1.0, 0.5, 0.0, 0.0, -0.25, 1.0, 0.5, 0.5, 0.0, -0.5, 1.0]
  c1 = Conv(x, w)
  r1 = Relu(c1)
  y = Conv(r1, w)
}`;
  const layouts = (g: Graph) => g.nodes.map((n) => `${n.op}:${n.outputs[0].type.layout ?? '-'}`).join(' ');

  it('lays out a conv region and reports statistics', () => {
    const { graph, reports } = runPipeline(parseGraph(src), parsePipeline('layout-nc4hw4'));
    expect(layouts(graph)).toBe('LayoutConvert:NC4HW4 Conv:NC4HW4 Relu:NC4HW4 Conv:NC4HW4 LayoutConvert:-');
    expect(reports[0].stats).toEqual({ regions: 1, 'conversions-inserted': 2, 'values-converted': 3, 'constants-relaid-out': 1 });
    expect(graph.constants.map((c) => `${c.name}:${c.type.layout}:${c.const!.shape.join('x')}`)).toEqual(['w_oihw4i4o:OIHW4i4o:1x1x1x1x4x4']);
  });

  it("takes the friendly op set from the target's NC4HW4 kernels", () => {
    const target = { name: 'conv-only', hasKernel: (op: string, domain: string) => domain === '' && op === 'Conv@NC4HW4' };
    const { graph, reports } = runPipeline(parseGraph(src), parsePipeline('layout-nc4hw4'), { target });
    expect(layouts(graph)).toBe('LayoutConvert:NC4HW4 Conv:NC4HW4 LayoutConvert:- Relu:- LayoutConvert:NC4HW4 Conv:NC4HW4 LayoutConvert:-');
    expect(reports[0].stats['regions']).toBe(2);
    // use-target=false ignores the target
    const all = runPipeline(parseGraph(src), parsePipeline('layout-nc4hw4{use-target=false}'), { target });
    expect(all.reports[0].stats['regions']).toBe(1);
  });

  it('min-convs leaves small regions alone', () => {
    const { graph } = runPipeline(parseGraph(src), parsePipeline('layout-nc4hw4{min-convs=3}'));
    expect(graph.nodes.some((n) => n.op === 'LayoutConvert')).toBe(false);
  });
});
