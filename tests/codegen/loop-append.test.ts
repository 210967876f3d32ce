/**
 * Loops that build a list and stop on data (issue 13: a scripted greedy decoder, `outs.append(y)` and
 * `break`), on compiled targets (codegen/loop-append.ts): the appended sequence becomes a scan output
 * allocated for the most iterations the condition allows (`i + 1 < n`, n given to the run) and cut to
 * the iterations that ran; ConcatFromSequence(new_axis = 1) becomes a Transpose of a value whose
 * run-time dim moves (lower/dynamic.ts, compacted in place). Checked against the reference interpreter
 * with breaks before, at and without the bound, on the loop-IR interpreter, C, WebAssembly SIMD and
 * WGSL (skipped by the rule of tests/webgpu.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AicError, Tensor, serializeNpy, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { C_TARGET, closeWgsl, computeKernels, onLowered, runOn } from '@aic/codegen';
import { iterationBound } from '../../codegen/loop-append.ts';
import { RUNNERS } from '../../scripts/conformance.ts';
import { webgpuSkipReason } from '../webgpu.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers('float32', shape, v);
const i64 = (v: number) => Tensor.fromNumbers('int64', [], [v]);

// as torch.jit.script exports `for i in range(n): h = 2h + b; outs.append(h); if h.max() > 10: break`
// followed by torch.stack(outs, 1): the trip count is INT64_MAX, the condition `k + 1 < n and not done`
/** One step: h = 2h + bias, counter k + 1, go on while k + 1 < n and max(h) <= 10; `keep` keeps h (a list append or a scan output). */
const step = (keep: string) => `    one: i64[] = 1
    two: f32[] = 2.0
    ten: f32[] = 10.0
    bias: f32[3] = [0.5, -0.25, 0.125]
    d: f32[2, 3] = Mul(hi, two)
    ho: f32[2, 3] = Add(d, bias)
    ${keep}
    ko: i64[] = Add(k, one)
    lt: bool[] = Less(ko, n)
    m: f32[] = ReduceMax(ho, keepdims = 0)
    done: bool[] = Greater(m, ten)
    go: bool[] = Not(done)
    co: bool[] = And(lt, go)`;
const HEAD = `  big: i64[] = 9223372036854775807
  zero: i64[] = 0
  c0: bool[] = Greater(n, zero)`;

const GREEDY = `opset ai.onnx 13
graph greedy(x: f32[2, 3], n: i64[]) -> (ys: f32[2, L, 3], h: f32[2, 3]) {
${HEAD}
  empty: seq<f32[*]> = SequenceEmpty(dtype = 1)
  h: f32[2, 3], cnt: i64[], acc: seq<f32[*]> = Loop(big, c0, x, zero, empty, body = graph b(i: i64[], ci: bool[], hi: f32[2, 3], k: i64[], sq: seq<f32[*]>) -> (co: bool[], ho: f32[2, 3], ko: i64[], so: seq<f32[*]>) {
${step('so: seq<f32[*]> = SequenceInsert(sq, ho)')}
  })
  ys: f32[2, L, 3] = ConcatFromSequence(acc, axis = 1, new_axis = 1)
}`;

const feeds = (x: number, n: number) => new Map<string, RValue>([['x', f32([2, 3], [x, 0.1, -0.3, 0.2, x / 2, 0])], ['n', i64(n)]]);
// (x, n) -> iterations: the data stops it (4 of 9), n stops it (2), the data stops it at once (1), n = 1
const CASES: [number, number, number][] = [[0.5, 9, 4], [0.5, 2, 2], [20, 9, 1], [0.5, 1, 1]];

let wgslSkip: string | undefined;
beforeAll(async () => { wgslSkip = await webgpuSkipReason(); }, 120_000);
afterAll(() => closeWgsl());

describe('a Loop that appends to a list and breaks on data, compiled', () => {
  it('the reference runs as many iterations as the data and n allow', () => {
    for (const [x, n, iters] of CASES) expect((run(parseGraph(GREEDY), feeds(x, n)).get('ys') as Tensor).shape).toEqual([2, iters, 3]);
  });

  for (const t of ['loops', 'c', 'wasm-simd', 'wgsl']) {
    describe(t, () => {
      beforeEach((ctx) => { if (t === 'wgsl' && wgslSkip) ctx.skip(wgslSkip); });
      it('matches the interpreter bit for bit, whichever condition stops it', () => {
        for (const [x, n, iters] of CASES) {
          const ref = run(parseGraph(GREEDY), feeds(x, n));
          const got = RUNNERS[t]!(parseGraph(GREEDY), feeds(x, n));
          for (const name of ['ys', 'h']) {
            const a = got.get(name) as Tensor, b = ref.get(name) as Tensor;
            expect(a.shape, `${name} x=${x} n=${n}`).toEqual(b.shape);
            expect(Array.from(a.num), `${name} x=${x} n=${n}`).toEqual(Array.from(b.num));
          }
          expect((got.get('ys') as Tensor).shape[1]).toBe(iters);
        }
      }, 120_000);
    });
  }

  it('aic run\'s driver: n bounds the scan output (a note says so), the Loop runs as generated code', async () => {
    const notes: string[] = [];
    const kernels: number[] = [];
    const stop = onLowered((p) => kernels.push(computeKernels(p)));
    let r;
    try { r = await runOn(C_TARGET, parseGraph(GREEDY), feeds(0.5, 9), { version: 'test', source: 'greedy', note: (s) => notes.push(s) }); } finally { stop(); }
    const ref = run(parseGraph(GREEDY), feeds(0.5, 9));
    expect(Array.from((r.outputs.get('ys') as Tensor).num)).toEqual(Array.from((ref.get('ys') as Tensor).num));
    expect(kernels[0]).toBeGreaterThanOrEqual(2); // the Loop and the Transpose
    expect(notes.some((s) => /Loop '.*' runs at most 9 iterations/.test(s))).toBe(true);
  });

  it('aic compile --const-input n=FILE: the artifact (wasm-simd) returns the iterations run; without it, exit 3', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-greedy-'));
    try {
      fs.writeFileSync(path.join(dir, 'greedy.aic'), GREEDY);
      fs.writeFileSync(path.join(dir, 'n.npy'), serializeNpy(i64(9)));
      const compile = (...extra: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), 'compile', path.join(dir, 'greedy.aic'), '--target', 'wasm-simd',
        '-o', path.join(dir, 'art'), ...extra], { encoding: 'utf8' });
      const bare = compile();
      expect(bare.status).toBe(3);
      expect(bare.stderr).toMatch(/Loop/);
      expect(fs.existsSync(path.join(dir, 'art'))).toBe(false);
      const r = compile('--const-input', `n=${path.join(dir, 'n.npy')}`);
      expect(r.status, r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'art', 'model.d.ts'), 'utf8')).toMatch(/float32 \[2, <=9, 3\]: dim 1 is known when the model runs/);
      const { load } = await import(path.join(dir, 'art', 'model.mjs')) as { load: () => Promise<{ run: (f: object) => Promise<Record<string, ArrayLike<number>>> }> };
      const want = run(parseGraph(GREEDY), feeds(0.5, 9)).get('ys') as Tensor;
      const out = await (await load()).run({ x: (feeds(0.5, 9).get('x') as Tensor).num });
      expect(Array.from(out.ys!)).toEqual(Array.from(want.num));
      expect(Object.entries(out).find(([k]) => k.endsWith(':extent'))?.[1]?.[0]).toBe(4);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  }, 120_000);

  it('without a bound on its iterations, a clean exit-3 diagnostic names the Loop', () => {
    const src = GREEDY.replace('lt: bool[] = Less(ko, n)', 'lt: bool[] = Less(one, n)');
    let err: unknown;
    try { RUNNERS['c']!(parseGraph(src), feeds(0.5, 9)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AicError);
    expect((err as AicError).exitCode).toBe(3);
    expect((err as AicError).format()).toMatch(/Loop/);
  });
});

// the same loop written with a scan output instead of a list (as ONNX exporters other than TorchScript do)
const SCANNED = `opset ai.onnx 13
graph scanned(x: f32[2, 3], n: i64[]) -> (ys: f32[L, 2, 3], h: f32[2, 3]) {
${HEAD}
  h: f32[2, 3], cnt: i64[], ys: f32[L, 2, 3] = Loop(big, c0, x, zero, body = graph b(i: i64[], ci: bool[], hi: f32[2, 3], k: i64[]) -> (co: bool[], ho: f32[2, 3], ko: i64[], yo: f32[2, 3]) {
${step('yo: f32[2, 3] = Identity(ho)')}
  })
}`;

// `for i in range(n): toks = cat([toks, f(toks)], 1)`: a carried value one longer each step, unrolled (n given to the run)
const GROWING = `opset ai.onnx 13
graph grow(x: f32[1, 2], n: i64[]) -> (y: f32[1, L]) {
  t: bool[] = true
  y: f32[1, L] = Loop(n, t, x, body = graph b(i: i64[], c: bool[], a: f32[1, 2]) -> (co: bool[], ao: f32[1, M]) {
    co: bool[] = Identity(c)
    m: f32[1, 1] = ReduceMax(a, keepdims = 1)
    h: f32[1, 1] = Mul(m, m)
    ao: f32[1, M] = Concat(a, h, axis = 1)
  })
}`;

describe('a Loop with a scan output and a condition computed from data, compiled', () => {
  for (const t of ['c', 'wasm-simd']) {
    it(`${t}: its scan output is cut to the iterations run, bit for bit`, () => {
      for (const [x, n, iters] of CASES) {
        const ref = run(parseGraph(SCANNED), feeds(x, n)).get('ys') as Tensor;
        const got = RUNNERS[t]!(parseGraph(SCANNED), feeds(x, n)).get('ys') as Tensor;
        expect(got.shape).toEqual([iters, 2, 3]);
        expect(Array.from(got.num)).toEqual(Array.from(ref.num));
      }
    });
  }
});

describe('a Loop whose carried value grows each iteration, compiled by unrolling', () => {
  const fm = (n: number) => new Map<string, RValue>([['x', f32([1, 2], [0.5, -1.25])], ['n', i64(n)]]);
  for (const t of ['c', 'wasm-simd']) {
    it(`${t}: matches the interpreter at n = 1, 3, 5`, () => {
      for (const n of [1, 3, 5]) {
        const ref = run(parseGraph(GROWING), fm(n)).get('y') as Tensor;
        const got = RUNNERS[t]!(parseGraph(GROWING), fm(n)).get('y') as Tensor;
        expect(got.shape).toEqual([1, 2 + n]);
        expect(Array.from(got.num)).toEqual(Array.from(ref.num));
      }
    });
  }
});

describe('iterationBound: how many iterations a condition allows', () => {
  /** A Loop whose body's condition is `cmp(x, n)` with x built by `xExpr` (DSL lines) from i or a counter k. */
  function bound(lines: string, init = 0, nVal = 7): number | undefined {
    const g = parseGraph(`opset ai.onnx 13
graph t(n: i64[], c: bool[]) -> (kf: i64[]) {
  m: i64[] = 100
  k0: i64[] = ${init}
  kf: i64[] = Loop(m, c, k0, body = graph b(i: i64[], ci: bool[], k: i64[]) -> (co: bool[], ko: i64[]) {
    one: i64[] = 1
    three: i64[] = 3
    ko: i64[] = Add(k, one)
${lines}
  })
}`);
    return iterationBound(g.nodes.find((x) => x.op === 'Loop')!, (v) => (v.name === 'n' ? nVal : undefined));
  }
  it('a counter stepped by one, compared after the step: n - start iterations', () => {
    expect(bound('    co: bool[] = Less(ko, n)')).toBe(7);
    expect(bound('    co: bool[] = Less(ko, n)', 2)).toBe(5);
  });
  it('before the step, with <=, through And, from the iteration number, flipped, with an offset', () => {
    expect(bound('    co: bool[] = Less(k, n)')).toBe(8);
    expect(bound('    co: bool[] = LessOrEqual(ko, n)')).toBe(8);
    expect(bound('    a: bool[] = Less(ko, n)\n    co: bool[] = And(ci, a)')).toBe(7);
    expect(bound('    p: i64[] = Add(i, one)\n    co: bool[] = Greater(n, p)')).toBe(7);
    expect(bound('    p: i64[] = Add(i, three)\n    co: bool[] = Less(p, n)')).toBe(5);
    expect(bound('    p: i64[] = Add(i, three)\n    co: bool[] = Less(p, n)', 0, 1)).toBe(1); // at least the first iteration
  });
  it('no counter, or a bound computed in the body: none', () => {
    expect(bound('    co: bool[] = Less(three, n)')).toBeUndefined();
    expect(bound('    q: i64[] = Mul(n, three)\n    co: bool[] = Less(ko, q)')).toBeUndefined();
    expect(bound('    two: i64[] = Add(one, one)\n    kk: i64[] = Mul(k, two)\n    co: bool[] = Less(kk, n)')).toBeUndefined();
  });
});
