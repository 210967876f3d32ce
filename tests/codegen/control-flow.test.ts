/**
 * If, Loop and Scan on compiled CPU targets (issue 13, item 3): one-node graphs and a nested If that
 * reads outer-scope values (a graph input and a constant of the enclosing branch), run through the
 * loop-IR interpreter, C, WebAssembly SIMD and WGSL (one single-invocation dispatch per control node;
 * skipped by the rule of tests/webgpu.ts) and checked against the reference
 * interpreter; what they refuse (shapes the data decides inside a subgraph, branches or carried values
 * whose shapes differ) is a clean exit-3 diagnostic naming the node.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AicError, Tensor, serializeNpy, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { LOOPS_CAPS, closeWgsl, lowerGraph, prepareForRun } from '@aic/codegen';
import { RUNNERS } from '../../scripts/conformance.ts';
import { webgpuSkipReason } from '../webgpu.ts';

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers('float32', shape, v);
const i64 = (v: number) => Tensor.fromNumbers('int64', [], [v]);
const bool = (v: number) => Tensor.fromNumbers('bool', [], [v]);

/** Same dtypes, shapes and values as the reference interpreter, on `target`. */
function expectSame(target: string, src: string, feeds: Record<string, Tensor>): void {
  const fm = new Map<string, RValue>(Object.entries(feeds));
  const ref = run(parseGraph(src), fm);
  const got = RUNNERS[target]!(parseGraph(src), fm);
  expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
  for (const [name, r] of ref) {
    const a = got.get(name) as Tensor, b = r as Tensor;
    expect(a.dtype, name).toBe(b.dtype);
    expect(a.shape, name).toEqual(b.shape);
    expect(Array.from(a.num), name).toEqual(Array.from(b.num));
  }
}

const IF = `opset ai.onnx 13
graph t(c: bool[], x: f32[4]) -> (y: f32[4]) {
  y: f32[4] = If(c, then_branch = graph a() -> (o: f32[4]) {
    o: f32[4] = Relu(x)
  }, else_branch = graph b() -> (o2: f32[4]) {
    o2: f32[4] = Neg(x)
  })
}`;

// the inner If reads x (graph input), s and k (values of the enclosing then-branch; k an int64 constant)
const NESTED = `opset ai.onnx 13
graph n(c1: bool[], c2: bool[], x: f32[2, 3]) -> (y: f32[3]) {
  y: f32[3] = If(c1, then_branch = graph t1() -> (r: f32[3]) {
    k: i64[] = Constant(value = tensor(i64[], 1))
    s: f32[2, 3] = Relu(x)
    r: f32[3] = If(c2, then_branch = graph t2() -> (q: f32[3]) {
      q: f32[3] = Gather(s, k, axis = 0)
    }, else_branch = graph e2() -> (q2: f32[3]) {
      g0: f32[3] = Gather(x, k, axis = 0)
      q2: f32[3] = Neg(g0)
    })
  }, else_branch = graph e1() -> (r2: f32[3]) {
    z: i64[] = Constant(value = tensor(i64[], 0))
    r2: f32[3] = Gather(x, z, axis = 0)
  })
}`;

// a trip count only: y += x * i, and the square of y stacked per iteration
const LOOP_COUNTED = `opset ai.onnx 13
graph l(m: i64[], y0: f32[2], x: f32[2]) -> (y: f32[2], ys: f32[3, 2]) {
  y: f32[2], ys: f32[3, 2] = Loop(m, _, y0, body = graph b(i: i64[], cin: bool[], yin: f32[2]) -> (cout: bool[], yout: f32[2], sout: f32[2]) {
    cout: bool[] = Identity(cin)
    fi: f32[] = Cast(i, to = 1)
    t: f32[2] = Mul(x, fi)
    yout: f32[2] = Add(yin, t)
    sout: f32[2] = Mul(yout, yout)
  })
}`;

// a condition the body computes (doubling until past lim), and two carried values that swap (a, b) -> (b, a + b)
const LOOP_COND = `opset ai.onnx 13
graph w(m: i64[], c: bool[], y0: f32[], lim: f32[], a0: f32[], b0: f32[]) -> (y: f32[], a: f32[], b: f32[]) {
  y: f32[], a: f32[], b: f32[] = Loop(m, c, y0, a0, b0, body = graph b(i: i64[], cin: bool[], yin: f32[], ain: f32[], bin: f32[]) -> (cout: bool[], yout: f32[], bin: f32[], sum: f32[]) {
    two: f32[] = Constant(value = tensor(f32[], 2.0))
    yout: f32[] = Mul(yin, two)
    cout: bool[] = Less(yout, lim)
    sum: f32[] = Add(ain, bin)
  })
}`;

// reversed along axis 1, stacked along axis 1
const SCAN = `opset ai.onnx 13
graph s(init: f32[2], x: f32[2, 3]) -> (fin: f32[2], z: f32[2, 3]) {
  fin: f32[2], z: f32[2, 3] = Scan(init, x, body = graph b(st: f32[2], el: f32[2]) -> (so: f32[2], zo: f32[2]) {
    so: f32[2] = Add(st, el)
    zo: f32[2] = Mul(so, st)
  }, num_scan_inputs = 1, scan_input_axes = [1], scan_input_directions = [1], scan_output_axes = [1])
}`;

// a Loop inside a branch, its carried body value declared without a shape (ONNX exporters often do)
const LOOP_IN_IF = `opset ai.onnx 13
graph q(c: bool[], m: i64[], y0: f32[2], x: f32[2]) -> (y: f32[2]) {
  y: f32[2] = If(c, then_branch = graph t() -> (r: f32[2]) {
    r: f32[2] = Loop(m, _, y0, body = graph b(i: i64[], cin: bool[], yin: f32[*]) -> (cout: bool[], yout: f32[*]) {
      cout: bool[] = Identity(cin)
      yout: f32[*] = Add(yin, x)
    })
  }, else_branch = graph e() -> (r2: f32[2]) {
    r2: f32[2] = Identity(x)
  })
}`;

const X23 = f32([2, 3], [1, -2, 3, -4, 5, -6]);

let wgslSkip: string | undefined;
beforeAll(async () => { wgslSkip = await webgpuSkipReason(); }, 120_000);
afterAll(() => closeWgsl());

for (const target of ['loops', 'c', 'wasm-simd', 'wgsl']) {
  describe(`control flow via ${target}`, () => {
    beforeEach((ctx) => { if (target === 'wgsl' && wgslSkip) ctx.skip(wgslSkip); });
    it('If reading a graph input, both branches', () => {
      for (const c of [0, 1]) expectSame(target, IF, { c: bool(c), x: f32([4], [1, -2, 3, -4]) });
    });
    it('a nested If reading values of the enclosing branch and of the graph', () => {
      for (const c1 of [0, 1]) for (const c2 of [0, 1]) expectSame(target, NESTED, { c1: bool(c1), c2: bool(c2), x: X23 });
    });
    it('Loop with a trip count: carried value and scan output', () => {
      const feeds = { m: i64(3), y0: f32([2], [0.5, -1]), x: f32([2], [1, 2]) };
      expectSame(target, LOOP_COUNTED, feeds);
      // body values declared without shapes, as exporters write them: the iteration number and condition are scalars
      expectSame(target, LOOP_COUNTED.replace('b(i: i64[], cin: bool[], yin: f32[2]) -> (cout: bool[], yout: f32[2], sout: f32[2])',
        'b(i: i64[*], cin: bool[*], yin: f32[*]) -> (cout: bool[*], yout: f32[*], sout: f32[*])'), feeds);
    });
    it('Loop with a condition: stops when the body says so, or at the trip count; swapped carried values', () => {
      const base = { c: bool(1), y0: f32([], [1]), lim: f32([], [20]), a0: f32([], [0]), b0: f32([], [1]) };
      expectSame(target, LOOP_COND, { ...base, m: i64(100) });
      expectSame(target, LOOP_COND, { ...base, m: i64(2) });
      expectSame(target, LOOP_COND, { ...base, m: i64(100), c: bool(0) });
    });
    it('a Loop inside an If branch, its carried body value declared without a shape', () => {
      for (const c of [0, 1]) expectSame(target, LOOP_IN_IF, { c: bool(c), m: i64(4), y0: f32([2], [1, 2]), x: f32([2], [0.5, -3]) });
    });
    it('a Loop that stops before its scan outputs\' declared length fails the run, naming the Loop', () => {
      let err: unknown;
      try { RUNNERS[target]!(parseGraph(LOOP_COUNTED.replace(/ys: f32\[3, 2\]/g, 'ys: f32[5, 2]')), new Map(Object.entries({ m: i64(3), y0: f32([2], [0, 0]), x: f32([2], [1, 2]) }))); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(AicError);
      expect((err as AicError).exitCode).toBe(1);
      expect((err as AicError).format()).toMatch(/Loop.*rows of its scan outputs left unwritten.* 2 is out of range/);
    });
    it('Scan: reversed input along axis 1, output stacked along axis 1', () => {
      expectSame(target, SCAN, { init: f32([2], [1, 2]), x: X23 });
    });
  });
}

// a voice-activity detector's front end: nested Ifs on the sample-rate input whose branches give
// outputs of different shapes (no compiled If can hold them); `aic run` knows the rate, so the taken
// branch replaces the If (codegen/inline-if.ts) and its ops compile
const VAD = `opset ai.onnx 13
graph vad(sr: i64[], x: f32[1, 12]) -> (y: f32[*]) {
  r16: i64[] = Constant(value = tensor(i64[], 16000))
  r8: i64[] = Constant(value = tensor(i64[], 8000))
  c1: bool[] = Equal(sr, r16)
  y: f32[*] = If(c1, then_branch = graph t1() -> (a: f32[1, 6, 2]) {
    s0: i64[3] = Constant(value = tensor(i64[3], [1, 6, 2]))
    a0: f32[1, 6, 2] = Reshape(x, s0)
    a: f32[1, 6, 2] = Relu(a0)
  }, else_branch = graph e1() -> (b: f32[1, 4, 3]) {
    c2: bool[] = Equal(sr, r8)
    b: f32[1, 4, 3] = If(c2, then_branch = graph t2() -> (q: f32[1, 4, 3]) {
      s1: i64[3] = Constant(value = tensor(i64[3], [1, 4, 3]))
      q0: f32[1, 4, 3] = Reshape(x, s1)
      q: f32[1, 4, 3] = Neg(q0)
    }, else_branch = graph e2() -> (q2: f32[1, 4, 3]) {
      s2: i64[3] = Constant(value = tensor(i64[3], [1, 4, 3]))
      q2: f32[1, 4, 3] = Reshape(x, s2)
    })
  })
}`;

describe('If branches of different shapes, decided by an input a run binds (inline-if)', () => {
  const X = f32([1, 12], Array.from({ length: 12 }, (_, i) => Math.sin(i) * 2));
  for (const target of ['c', 'wasm-simd']) {
    for (const sr of [16000, 8000, 4000]) {
      it(`${target}: sample rate ${sr}`, () => expectSame(target, VAD, { sr: i64(sr), x: X }));
    }
  }
  it('the taken branch is compiled: its ops are kernels, only the condition is folded', () => {
    const at = (sr: number) => {
      const g = parseGraph(VAD);
      prepareForRun(g, new Map<string, RValue>([['sr', i64(sr)], ['x', X]]));
      expect(lowerGraph(g, LOOPS_CAPS).kernels.length).toBeGreaterThan(0);
      return g.nodes.filter((n) => n.op !== 'Constant');
    };
    expect(at(16000).map((n) => n.op)).toEqual(['Reshape', 'Relu']);
    // 8000: the inner If stays (its branches agree on [1, 4, 3]: a compiled If), its condition a kernel
    const inner = at(8000);
    expect(inner.map((n) => n.op)).toEqual(['Equal', 'If']);
    expect(inner[1].outputs[0].shape).toEqual([1, 4, 3]);
  });
});

describe('aic compile --const-input decides such an If too', () => {
  it('the 8 kHz artifact compiles the taken branch (exit 0); without the rate it is refused (exit 3)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-vad-'));
    try {
      fs.writeFileSync(path.join(dir, 'vad.aic'), VAD);
      fs.writeFileSync(path.join(dir, 'sr.npy'), serializeNpy(i64(8000)));
      const aic = (args: string[]) => spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/aic'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      const ok = aic(['compile', path.join(dir, 'vad.aic'), '--target', 'c', '-O0', '--const-input', `sr=${path.join(dir, 'sr.npy')}`, '-o', path.join(dir, 'c')]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'c/model.h'), 'utf8')).toMatch(/\[1, 4, 3\]/);
      const no = aic(['compile', path.join(dir, 'vad.aic'), '--target', 'c', '-o', path.join(dir, 'c2')]);
      expect(no.status).toBe(3);
      expect(no.stderr).toMatch(/AIC0391.*\[1, 6, 2\].*\[1, 4, 3\]/);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  }, 120_000);
});

describe('what compiled control flow refuses (exit 3, naming the node)', () => {
  const refused = (src: string): AicError => {
    let err: unknown;
    try { lowerGraph(parseGraph(src), LOOPS_CAPS); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).exitCode, (err as AicError).format()).toBe(3);
    return err as AicError;
  };
  it('If branches whose outputs differ in shape: AIC0391', () => {
    const e = refused(IF.replace('o2: f32[4] = Neg(x)', 'o2: f32[2] = Constant(value = tensor(f32[2], [1.0, 2.0]))').replace('-> (o2: f32[4])', '-> (o2: f32[2])').replace(/y: f32\[4\]/g, 'y: f32[*]'));
    expect(e.code).toBe('AIC0391');
    expect(e.format()).toMatch(/If 'If'.*\[4\].*\[2\]/);
  });
  it('a loop-carried value that grows: AIC0391', () => {
    const e = refused(LOOP_COUNTED.replace('yout: f32[2] = Add(yin, t)', 'yout: f32[4] = Concat(yin, t, axis = 0)').replace('yout: f32[2], sout', 'yout: f32[4], sout').replace('sout: f32[2] = Mul(yout, yout)', 'sout: f32[2] = Mul(t, t)'));
    expect(e.code).toBe('AIC0391');
    expect(e.format()).toMatch(/Loop 'Loop'.*loop-carried value 0/);
  });
  it('a shape the data decides inside a branch: AIC0390', () => {
    const e = refused(`opset ai.onnx 13
graph d(c: bool[], x: f32[2, 2]) -> (y: i64[2]) {
  y: i64[2] = If(c, then_branch = graph a() -> (o: i64[2]) {
    nz: i64[2, n] = NonZero(x)
    o: i64[2] = Shape(nz)
  }, else_branch = graph b() -> (o2: i64[2]) {
    o2: i64[2] = Shape(x)
  })
}`);
    expect(e.code).toBe('AIC0390');
    expect(e.format()).toMatch(/If 'If': value 'nz'/);
  });
  it('a Loop scan output whose length the run-time trip count decides: AIC0392', () => {
    const e = refused(LOOP_COUNTED.replace(/ys: f32\[3, 2\]/g, 'ys: f32[*]'));
    expect(e.code).toBe('AIC0392');
    expect(e.format()).toMatch(/Loop 'Loop': scan output 0 \('ys'\)/);
  });
});
