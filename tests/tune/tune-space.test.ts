/**
 * The tuner's CPU space: a conv kernel's algorithms are those choose.ts weighs (direct, gemm for 1x1,
 * im2col and Winograd for 3x3), mutations reach each of them from the default, and K blocking (a reduction loop
 * split, output loops moved between its blocks) realizes on C with results identical to the bit.
 */
import { describe, expect, it } from 'vitest';
import { C_TARGET, WASM_SIMD_TARGET, buildC, compileFor, kernelSpace, lowerGraph, makeRng, mutate, runC, scheduleText, thisMachine, tuningSchedules, workloadsOf } from '@aic/codegen';
import { optimizeGraph, loadGraph } from '@aic/api/internal';
import { Tensor } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { printKernel, type Directive } from '@aic/loop-ir';
import type { Target } from '@aic/codegen';
import { buildModel } from '../onnx-builder.ts';
import { HAVE_SHARED, SHARED } from '../model-zoo.ts';

/** Conv 3x3 16->16 (pad 1) then Conv 1x1 16->32 */
async function convGraph() {
  const w = (n: number, s: number) => Array.from({ length: n }, (_, i) => Math.sin(i * s) * 0.1);
  const bytes = buildModel([
    { op: 'Conv', inputs: ['x', 'w1'], outputs: ['a'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'Conv', inputs: ['a', 'w2'], outputs: ['y'], attrs: { kernel_shape: [1, 1] } },
  ], [{ name: 'x', shape: [1, 16, 14, 14] }], [{ name: 'y', shape: [1, 32, 14, 14] }], 13,
  [{ name: 'w1', dims: [16, 16, 3, 3], floats: w(16 * 16 * 9, 0.37) }, { name: 'w2', dims: [32, 16, 1, 1], floats: w(32 * 16, 0.91) }]);
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aic-tune-space-')), 'convs.onnx');
  fs.writeFileSync(f, bytes);
  return optimizeGraph(await loadGraph(f, { validate: true }), { target: 'c' }).graph;
}

const algos = (dirs: Directive[][]) => new Set(dirs.map((d) => { const a = d.find((x) => x.d === 'algorithm') as { name: string; params?: number[] } | undefined; return a ? `${a.name}${a.params ? `(${a.params})` : ''}` : 'direct'; }));

describe('tuner space (CPU)', () => {
  it('offers every algorithm choose.ts weighs, and the mutations reach each one', async () => {
    const g = await convGraph();
    const prog = lowerGraph(g, C_TARGET.caps!);
    const [k3, k1] = [...prog.sources.keys()];
    expect(algos(kernelSpace(prog, k3).algorithms.map((a) => [a]))).toEqual(new Set(['direct', 'im2col', 'winograd(2,3)', 'winograd(4,3)']));
    expect(algos(kernelSpace(prog, k1).algorithms.map((a) => [a]))).toEqual(new Set(['direct', 'gemm']));
    expect(kernelSpace(prog, k3, true).algorithms).toEqual([{ d: 'algorithm', name: 'direct' }]); // GPU: no algorithms
    // from the default schedule (as compiled), the algorithm mutation reaches every other algorithm
    const def = compileFor(C_TARGET, g, { version: 't', source: 't', sourceHash: '-' }).prog.schedules.get(k3)!;
    const rng = makeRng(1);
    const kids: Directive[][] = [];
    for (let i = 0; i < 200; i++) { const k = mutate(def, kernelSpace(prog, k3), rng); if (k) kids.push(k); }
    const reached = algos([def, ...kids]);
    for (const a of ['direct', 'winograd(2,3)', 'winograd(4,3)']) expect(reached.has(a)).toBe(true);
  });

  it('K-blocks a direct conv on C without changing a result bit', async () => {
    const g = await convGraph();
    const prog = lowerGraph(g, C_TARGET.caps!);
    const k3 = [...prog.sources.keys()][0];
    const opts = (schedules?: Map<string, Directive[]>) => ({ version: 't', source: 't', sourceHash: '-', schedules });
    const direct = compileFor(C_TARGET, g, opts(new Map([[k3, [{ d: 'algorithm', name: 'direct' }]]]))).prog.schedules.get(k3)!;
    const space = kernelSpace(prog, k3);
    const rng = makeRng(2);
    let kb: Directive[] | undefined;
    for (let i = 0; i < 400 && !kb; i++) {
      const k = mutate(direct, space, rng);
      const split = k?.find((d) => d.d === 'split' && space.reduce.includes(d.axis)) as { axis: string } | undefined;
      const order = (k?.find((d) => d.d === 'reorder' && split && d.order.includes(`${split.axis}_o`)) as { order: string[] } | undefined)?.order;
      // an output loop between the reduction's blocks
      if (split && order && order.indexOf(`${split.axis}_i`) - order.indexOf(`${split.axis}_o`) > 1) kb = k;
    }
    expect(kb).toBeDefined();
    const x = new Tensor('float32', [1, 16, 14, 14], Float32Array.from({ length: 16 * 196 }, (_, i) => Math.cos(i * 0.13)));
    const feeds = new Map([['x', x]]);
    const out = (s: Map<string, Directive[]>) => {
      const c = compileFor(C_TARGET, g, opts(s));
      return runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs.get('y')!.num as Float32Array;
    };
    const a = out(new Map([[k3, direct]])), b = out(new Map([[k3, kb!]]));
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  }, 120_000);

  it('a padded depthwise conv may copy its input whole (pad-copy), with the same result bits on C', async () => {
    const bytes = buildModel([
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 8 } },
    // 16 columns: direct keeps it (direct-flat is for maps narrower than the vectors)
    ], [{ name: 'x', shape: [1, 8, 10, 16] }], [{ name: 'y', shape: [1, 8, 10, 16] }], 13,
    [{ name: 'w', dims: [8, 1, 3, 3], floats: Array.from({ length: 72 }, (_, i) => Math.sin(i * 0.7)) }]);
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aic-tune-space-')), 'dw.onnx');
    fs.writeFileSync(f, bytes);
    const g = optimizeGraph(await loadGraph(f, { validate: true }), { target: 'c' }).graph;
    const prog = lowerGraph(g, C_TARGET.caps!);
    const k = [...prog.sources.keys()][0];
    const space = kernelSpace(prog, k);
    expect(space.padCopy).toBe(true);
    const gd = await convGraph(); // a dense conv: no choice
    expect(kernelSpace(lowerGraph(gd, C_TARGET.caps!), [...lowerGraph(gd, C_TARGET.caps!).sources.keys()][0]).padCopy).toBeUndefined();
    const opts = (schedules?: Map<string, Directive[]>) => ({ version: 't', source: 't', sourceHash: '-', schedules });
    const def = compileFor(C_TARGET, g, opts()).prog.schedules.get(k)!;
    const rng = makeRng(3);
    let whole: Directive[] | undefined;
    for (let i = 0; i < 200 && !whole; i++) { const m = mutate(def, space, rng); if (m?.some((d) => d.d === 'pad-copy')) whole = m; }
    expect(whole!.filter((d) => d.d !== 'pad-copy')).toEqual(def);
    const x = new Tensor('float32', [1, 8, 10, 16], Float32Array.from({ length: 1280 }, (_, i) => Math.cos(i * 0.31)));
    const feeds = new Map([['x', x]]);
    const out = (s?: Map<string, Directive[]>) => {
      const c = compileFor(C_TARGET, g, opts(s));
      return runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs.get('y')!.num as Float32Array;
    };
    const text = (s?: Map<string, Directive[]>) => printKernel(compileFor(C_TARGET, g, opts(s)).prog.kernels.find((x) => x.name === k)!);
    expect(text()).toContain('_plane');
    expect(text(new Map([[k, whole!]]))).not.toContain('_plane');
    const a = out(), b = out(new Map([[k, whole!]]));
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  }, 120_000);
  it('an int8 depthwise conv may sum in f32 or int32 lanes (accumulate), with the same integers on C', async () => {
    const lit = (n: number, f: (i: number) => number) => `[${Array.from({ length: n }, (_, i) => f(i)).join(', ')}]`;
    const src = `graph g(x: u8[1, 8, 9, 12]) -> (y: u8[1, 8, 9, 12]) {
  sx: f32[] = 0.0625
  zx: u8[] = 9
  wq: i8[8, 1, 3, 3] = ${lit(72, (i) => ((i * 37) % 255) - 127)}
  ws: f32[8] = ${lit(8, (i) => 2 ** -(8 + (i % 3)))}
  sy: f32[] = 0.5
  zy: u8[] = 4
  y = QuantizeLinear(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0), group = 8, pads = [1, 1, 1, 1]), sy, zy)
}`;
    const g = optimizeGraph(parseGraph(src), { target: 'c' }).graph;
    const k = [...lowerGraph(g, C_TARGET.caps!).sources.keys()].find((n) => n.endsWith('_qconv'))!;
    const space = kernelSpace(lowerGraph(g, C_TARGET.caps!), k);
    expect(space.accumulate).toBe(true);
    const gd = await convGraph(); // f32: no integer sum
    expect(kernelSpace(lowerGraph(gd, C_TARGET.caps!), [...lowerGraph(gd, C_TARGET.caps!).sources.keys()][0]).accumulate).toBeUndefined();
    const opts = (schedules?: Map<string, Directive[]>) => ({ version: 't', source: 't', sourceHash: '-', schedules });
    const def = compileFor(C_TARGET, g, opts()).prog.schedules.get(k)!;
    const rng = makeRng(5);
    const seen = new Map<string, Directive[]>();
    for (let i = 0; i < 400 && seen.size < 2; i++) {
      const m = mutate(def, space, rng);
      const a = m?.find((d) => d.d === 'accumulate');
      if (a?.d === 'accumulate') seen.set(a.type, m!);
    }
    expect([...seen.keys()].sort()).toEqual(['f32', 'i32']);
    const x = new Tensor('uint8', [1, 8, 9, 12], Uint8Array.from({ length: 864 }, (_, i) => (i * 53) % 256));
    const out = (s?: Map<string, Directive[]>) => {
      const c = compileFor(C_TARGET, g, opts(s));
      return Array.from(runC(buildC(c.art, c.prog), c.art, c.prog, new Map([['x', x]])).outputs.get('y')!.num);
    };
    const want = Array.from((run(parseGraph(src), new Map([['x', x]])).get('y') as Tensor).num);
    expect(new Set(want).size).toBeGreaterThan(10);
    for (const m of seen.values()) expect(out(new Map([[k, m]]))).toEqual(want);
  }, 120_000);
});

describe('tuner space: lane order and tap-lane fusion of blocked reductions (wasm-simd -O3)', () => {
  it('mutations undo and redo the rules of schedule/blocked.ts; every candidate agrees with the default', async () => {
    const { parseGraph: parse } = await import('@aic/dsl');
    const { pipelineFor, runPipeline } = await import('@aic/passes');
    const { compileWasm, passTarget, prepareForRun } = await import('@aic/codegen');
    const { runWasmSync } = await import('../../codegen/wasm/target.ts');
    const { WASM_SIMD_CAPS } = await import('../../codegen/caps.ts');
    const { outputsAgree } = await import('../../codegen/tune/index.ts');
    const { values, sineInput } = await import('../codegen/dsl-values.ts');
    const src = `graph g(x: f32[1, 16, 12, 12]) -> (y: f32[1, 32, 6, 6]) {
  w1: f32[32, 16, 3, 3] = ${values(32 * 144, 1)}
  w2: f32[32, 32, 1, 1] = ${values(32 * 32, 2)}
  c1 = Conv(x, w1, pads = [1, 1, 1, 1], strides = [2, 2])
  r1 = Relu(c1)
  y = Conv(r1, w2)
}`;
    const g = runPipeline(parse(src), pipelineFor(3), { target: passTarget('wasm-simd'), out: () => {} }).graph;
    const meta = { version: 't', source: 't', sourceHash: '-' };
    const feeds = sineInput([1, 16, 12, 12], 0.23, 1.5);
    prepareForRun(g, feeds);
    const base = compileWasm(g, { ...meta, simd: true });
    const want = runWasmSync(base, feeds);
    const prog = lowerGraph(g, WASM_SIMD_CAPS);
    const [k3, k1] = [...prog.sources.keys()].filter((k) => /conv$/.test(k));
    const d3 = base.prog.schedules.get(k3)!, d1 = base.prog.schedules.get(k1)!;
    // the defaults: the 3x3's last tap fused with its lanes, the 1x1's lanes outside its blocks
    expect(d3.some((d) => d.d === 'fuse')).toBe(true);
    const laneFirst = (dirs: Directive[]) => { const o = (dirs.find((d) => d.d === 'reorder') as { order: string[] }).order; return o.findIndex((n) => /^r\d+_i$/.test(n)) < o.findIndex((n) => /^r\d+_o$/.test(n)); };
    expect(laneFirst(d1)).toBe(true);
    const rng = makeRng(3);
    let unfused: Directive[] | undefined, laneInside: Directive[] | undefined;
    for (let i = 0; i < 300 && !(unfused && laneInside); i++) {
      const m3 = mutate(d3, kernelSpace(prog, k3), rng);
      if (m3 && !m3.some((d) => d.d === 'fuse') && m3.length === d3.length - 1) unfused = m3;
      const m1 = mutate(d1, kernelSpace(prog, k1), rng);
      if (m1 && m1.length === d1.length && !laneFirst(m1)) laneInside = m1;
    }
    expect(unfused && laneInside).toBeDefined();
    const got = runWasmSync(compileWasm(g, { ...meta, simd: true, schedules: new Map([[k3, unfused!], [k1, laneInside!]]) }), feeds);
    expect(outputsAgree(got, want)).toBe(true);
  }, 120_000);
});

describe('tuner batches of -O3 (channel-blocked) kernels', () => {
  it('a blocked conv runs alone: row-major boundary, layout conversions around the copies, the model\'s workload key', async () => {
    const { parseGraph: parse } = await import('@aic/dsl');
    const { pipelineFor, runPipeline } = await import('@aic/passes');
    const { passTarget } = await import('@aic/codegen');
    const { WASM_SIMD_CAPS } = await import('../../codegen/caps.ts');
    const { batchGraph } = await import('../../codegen/tune/index.ts');
    const { workloadKey } = await import('../../codegen/tune/workload.ts');
    const { values } = await import('../codegen/dsl-values.ts');
    const src = `graph g(x: f32[1, 8, 10, 10]) -> (y: f32[1, 16, 10, 10]) {
  w1: f32[16, 8, 3, 3] = ${values(16 * 72, 1)}
  w2: f32[16, 16, 1, 1] = ${values(256, 2)}
  c1 = Conv(x, w1, pads = [1, 1, 1, 1])
  r1 = Relu(c1)
  y = Conv(r1, w2)
}`;
    const g = runPipeline(parse(src), pipelineFor(3), { target: passTarget('wasm-simd'), out: () => {} }).graph;
    const prog = lowerGraph(g, WASM_SIMD_CAPS);
    const convs = [...prog.sources.values()].filter((s) => /conv$/.test(s.name));
    expect(convs.length).toBe(2);
    for (const s of convs) {
      // the model's kernel is blocked (its input or output has a 4-lane block dim)
      expect(workloadKey(s)).toMatch(/x4\]/);
      const b = batchGraph(s, 3, WASM_SIMD_CAPS);
      expect(b, s.name).toBeDefined();
      expect(b!.kernels).toHaveLength(3);
      // the batch graph's own inputs and outputs carry no layout; conversions sit around the copies
      for (const v of [...b!.graph.inputs, ...b!.graph.outputs]) expect(v.type.layout).toBeUndefined();
      expect(b!.graph.nodes.filter((n) => n.op === 'LayoutConvert').length).toBeGreaterThan(0);
      const bp = lowerGraph(b!.graph, WASM_SIMD_CAPS);
      for (const k of b!.kernels) expect(workloadKey(bp.sources.get(k)!)).toBe(workloadKey(s));
    }
  });
});

describe('tuner space at -O3 (channel-blocked convs)', () => {
  // the algorithm a blocked conv's default realizes with (gemm for a 1x1, Winograd) is in its space, so
  // a tuning-log record carrying it applies (before, the space saw blocked convs as 'direct' only and
  // every -O3 conv winner was reported mismatched and left out)
  it.skipIf(!HAVE_SHARED)('lists the default algorithm of every blocked conv, and a log record with it applies (squeezenet1_1)', async () => {
    for (const target of [C_TARGET, WASM_SIMD_TARGET] as Target<unknown>[]) {
      const g = optimizeGraph(await loadGraph(path.join(SHARED, 'squeezenet1_1.onnx'), { validate: true }), { target: target.name, level: 3 }).graph;
      const prog = lowerGraph(g, target.caps!);
      const def = compileFor(target, g, { version: 't', source: 't', sourceHash: '-' }).prog;
      const ws = workloadsOf(prog);
      const withAlgo = ws.filter((w) => def.schedules.get(w.kernels[0])?.some((d) => d.d === 'algorithm' && d.name !== 'direct'));
      expect(withAlgo.length).toBeGreaterThan(0);
      const lines: string[] = [];
      for (const w of withAlgo) {
        const dirs = def.schedules.get(w.kernels[0])!;
        const a = algos([dirs]);
        expect([...algos(kernelSpace(prog, w.kernels[0], false, target.caps).algorithms.map((x) => [x]))]).toContain([...a][0]);
        const rec = { workload: w.key, op: w.op, target: target.name, machine: thisMachine(), schedule: scheduleText(dirs), aic_version: 't' };
        lines.push(JSON.stringify({ ...rec, median_us: 10, trial: 0 }), JSON.stringify({ ...rec, median_us: 5, trial: 1 }));
      }
      const applied = tuningSchedules(g, target, [{ file: 'log.jsonl', text: lines.join('\n') }], 't');
      expect(applied.issues).toEqual([]);
      expect(applied.kernels).toBe(withAlgo.reduce((n, w) => n + w.kernels.length, 0));
    }
  }, 120_000);
});

describe('tuner space: splits tied to a padded or packed buffer', () => {
  it('mutations never change the factor of a split with tail store (30 output channels, weight packed to 32)', () => {
    const vals = (n: number) => `[${Array.from({ length: n }, (_, i) => (Math.sin(i * 0.7) * 0.1).toFixed(4)).join(', ')}]`;
    const g = parseGraph(`graph g(x: f32[1, 8, 2, 3, 3]) -> (y: f32[1, 30, 2, 3, 3]) {
  w: f32[30, 8, 1, 3, 3] = ${vals(30 * 72)}
  y = Conv(x, w, pads = [0, 1, 1, 0, 1, 1])
}`);
    const def = compileFor(C_TARGET, g, { version: 't', source: 't', sourceHash: '-' }).prog;
    const [k, dirs] = [...def.schedules].find(([, d]) => d.some((x) => x.d === 'split' && x.tail === 'store'))!;
    const store = dirs.find((x) => x.d === 'split' && x.tail === 'store')!;
    const space = kernelSpace(lowerGraph(g, C_TARGET.caps!), k);
    const rng = makeRng(3);
    let factorChanges = 0;
    for (let i = 0; i < 200; i++) {
      const kid = mutate(dirs, space, rng);
      if (!kid) continue;
      expect(kid.filter((x) => x.d === 'split' && x.axis === (store as { axis: string }).axis)).toEqual([store]);
      if (kid.some((x, j) => x.d === 'split' && JSON.stringify(x) !== JSON.stringify(dirs[j]))) factorChanges++;
    }
    expect(factorChanges).toBeGreaterThan(0); // the other splits (rows) still move
  });
});
