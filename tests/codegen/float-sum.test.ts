/**
 * Integer sums in f32 lanes (codegen/schedule/float-sum.ts, `accumulate f32|i32`): an int8 depthwise
 * aic.QConv on C sums in f32 (its int8 weight converted once at compile time) and gives the
 * interpreter's integers; the bound that keeps f32 exact (2^24) is enforced; `accumulate i32` keeps
 * the int32 lanes, `accumulate f32` where the bound fails is a usage error; wasm-simd (no fused
 * multiply-add) keeps int32 lanes by default.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { E, parseScheduleFile, printSchedule, walkExpr, type Expr } from '@aic/loop-ir';
import { algorithmStats, compileC, getTarget, passTargetOf, runOn, type Program } from '@aic/codegen';
import { compileWasm, emitWat } from '../../codegen/wasm/target.ts';
import { F32_EXACT, sumBound } from '../../codegen/schedule/float-sum.ts';

let seed = 4242;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
const lit = (a: number[]) => `[${a.join(', ')}]`;

/** DQ x -> Conv k x k (group g, pad k/2, per-channel int8 w, int32 bias) -> Relu -> Q, C channels */
function qdq(C: number, g: number, k: number, hw: number, wlo = -127, whi = 127): string {
  return `graph g(x: u8[1, ${C}, ${hw}, ${hw}]) -> (y: u8[1, ${C}, ${hw}, ${hw}]) {
  sx: f32[] = 0.0625
  zx: u8[] = 3
  wq: i8[${C}, ${C / g}, ${k}, ${k}] = ${lit(ints(C * (C / g) * k * k, wlo, whi))}
  ws: f32[${C}] = ${lit(Array.from({ length: C }, (_, i) => 2 ** -(9 + (i % 3))))}
  bq: i32[${C}] = ${lit(ints(C, -3000, 3000))}
  bs: f32[${C}] = ${lit(Array.from({ length: C }, (_, i) => 2 ** -(13 + (i % 3))))}
  sy: f32[] = 0.25
  zy: u8[] = 7
  y = QuantizeLinear(Relu(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0), DequantizeLinear(bq, bs, axis = 0), group = ${g}, pads = [${k >> 1}, ${k >> 1}, ${k >> 1}, ${k >> 1}])), sy, zy)
}`;
}

const opts = { version: 'test', source: 'float-sum', sourceHash: '-' };
const o2 = (src: string, t: string) => runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget(t)!), out: () => {} }).graph;
const qconvKernel = (src: string, t: string) => `k${o2(src, t).nodes.findIndex((n) => n.op === 'QConv')}_qconv`;

/** the element types of the kernel's sums */
function sumTypes(prog: Program, kernel: string): string[] {
  const out: string[] = [];
  for (const st of prog.sources.get(kernel)!.stages) if (st.kind === 'compute') walkExpr(st.body, (e) => { if (e.k === 'reduce') out.push(e.t); });
  return out;
}

async function equalsInterpreter(src: string, t: string, schedules?: string): Promise<void> {
  const g0 = parseGraph(src);
  const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('uint8', g0.inputs[0]!.shape as number[], ints(g0.inputs[0]!.shape!.reduce((a, b) => (a as number) * (b as number), 1) as number, 0, 255))]]);
  const want = run(g0, feeds).get('y') as Tensor;
  const got = (await runOn(getTarget(t)!, o2(src, t), feeds, { ...opts, ...(schedules ? { schedules: () => parseScheduleFile(schedules) } : {}) })).outputs.get('y') as Tensor;
  expect(Array.from(got.num)).toEqual(Array.from(want.num));
  expect(new Set(Array.from(want.num)).size).toBeGreaterThan(10);
}

describe('integer sums in f32 lanes', () => {
  it('the bound: terms x largest |P| x largest |Q| up to 2^24', () => {
    const sum = (extent: number, p: Expr, q: Expr) => ({ k: 'reduce' as const, op: 'sum' as const, axes: [{ name: 'r', extent }], body: E.mul(p, q), t: 'i32' as const, lanes: 1 });
    const u8 = E.cast(E.load('x', E.v('r'), 'u8'), 'i32'), i8 = E.cast(E.load('w', E.v('r'), 'i8'), 'i32');
    const zp = E.sub(u8, E.cast(E.load('z', E.i(0), 'u8'), 'i32'));
    expect(sumBound(sum(9, u8, i8), new Map())).toBe(9 * 255 * 128);
    expect(sumBound(sum(9, zp, i8), new Map())).toBe(9 * 255 * 128);
    // 2^24 / (255 * 128) = 514.0: 514 terms fit, 515 do not
    expect(sumBound(sum(514, u8, i8), new Map())! <= F32_EXACT).toBe(true);
    expect(sumBound(sum(515, u8, i8), new Map())! <= F32_EXACT).toBe(false);
    // an operand of unknown range (an i32 load): no bound
    expect(sumBound(sum(9, E.load('a', E.v('r'), 'i32'), i8), new Map())).toBeUndefined();
  });

  it('C: an int8 depthwise 3x3 conv sums in f32 lanes with its weight in f32, and equals the interpreter', async () => {
    const src = qdq(16, 16, 3, 12), k = qconvKernel(src, 'c');
    const { prog } = compileC(o2(src, 'c'), opts);
    expect(sumTypes(prog, k)).toEqual(['f32']);
    const params = prog.sources.get(k)!.params.map((p) => p.dtype);
    expect(params).toContain('f32');
    expect(params).not.toContain('i8');
    expect(algorithmStats(prog)).toMatch(new RegExp(`kernel ${k}\\s.*sum in f32 lanes`));
    await equalsInterpreter(src, 'c');
  }, 120_000);

  it('C: a kernel whose sum went to f32 is realized even with no loop directive (a 5x5 stride-2 conv to 3x3 at -O2): its schedule is accumulate f32', async () => {
    // before: no directive left the int32 kernel as first lowered, whose int8 weight param the rewrite
    // had replaced by its f32 copy (the generated C read an undeclared weight; quantized MobileNetV3)
    const src = qdq(8, 8, 5, 6).replace('-> (y: u8[1, 8, 6, 6])', '-> (y: u8[1, 8, 3, 3])').replace('pads = [2, 2, 2, 2])', 'pads = [2, 2, 2, 2], strides = [2, 2])');
    const k = qconvKernel(src, 'c');
    const { prog } = compileC(o2(src, 'c'), opts);
    expect(printSchedule(k, prog.schedules.get(k) ?? [])).toMatch(/accumulate f32/);
    expect(sumTypes(prog, k)).toEqual(['f32']);
    await equalsInterpreter(src, 'c');
  }, 120_000);

  it('C: a 5x5 depthwise conv with the largest products (255 x 127) is exact in f32', async () => {
    const src = qdq(8, 8, 5, 11, 127, 127);
    expect(sumTypes(compileC(o2(src, 'c'), opts).prog, qconvKernel(src, 'c'))).toEqual(['f32']);
    await equalsInterpreter(src, 'c');
  }, 120_000);

  it('C: a grouped conv whose sums could pass 2^24 keeps int32 lanes (and accumulate f32 there is a usage error)', async () => {
    // group 2, 64 input channels per group, 3x3: 576 terms x 255 x 127 > 2^24
    const src = qdq(128, 2, 3, 5), k = qconvKernel(src, 'c');
    expect(sumTypes(compileC(o2(src, 'c'), opts).prog, k).every((t) => t !== 'f32')).toBe(true);
    expect(() => compileC(o2(src, 'c'), { ...opts, schedules: parseScheduleFile(`kernel ${k} { accumulate f32 }`) })).toThrow(/accumulate f32 needs an integer sum/);
    await equalsInterpreter(src, 'c');
  }, 120_000);

  it('accumulate i32 keeps the int32 lanes on C and gives the same integers; the directive prints and parses back', async () => {
    const src = qdq(16, 16, 3, 12), k = qconvKernel(src, 'c');
    const sched = `kernel ${k} { accumulate i32 }`;
    const { prog } = compileC(o2(src, 'c'), { ...opts, schedules: parseScheduleFile(sched) });
    expect(sumTypes(prog, k)).toEqual(['i32']);
    expect(prog.schedules.get(k)?.some((d) => d.d === 'accumulate' && d.type === 'i32')).toBe(true);
    await equalsInterpreter(src, 'c', sched);
    expect(printSchedule(k, parseScheduleFile(sched).get(k)!)).toBe(`kernel ${k} {\n  accumulate i32\n}\n`);
  }, 120_000);

  it('wasm-simd keeps int32 lanes by default; accumulate f32 asks for f32 there and stays exact', async () => {
    const src = qdq(16, 16, 3, 12), k = qconvKernel(src, 'wasm-simd');
    expect(sumTypes(compileWasm(o2(src, 'wasm-simd'), { ...opts, simd: true }).prog, k)).toEqual(['i32']);
    const sched = `kernel ${k} { accumulate f32 }`;
    expect(sumTypes(compileWasm(o2(src, 'wasm-simd'), { ...opts, simd: true, schedules: parseScheduleFile(sched) }).prog, k)).toEqual(['f32']);
    await equalsInterpreter(src, 'wasm-simd', sched);
  }, 120_000);
  it('wasm-simd: a broadcast integer converts to f32 as a vector, not by a scalar convert + splat (V8: a false dependency)', async () => {
    // QuantizeLinear's zero point (u8) enters the f32 lanes per vector
    const src = `graph g(x: f32[1, 4, 8, 8]) -> (y: u8[1, 4, 8, 8]) {
  s: f32[] = 0.05
  z: u8[] = 17
  y = QuantizeLinear(x, s, z)
}`;
    const wat = emitWat(compileWasm(o2(src, 'wasm-simd'), { ...opts, simd: true }));
    expect(wat).toMatch(/i32x4\.splat\s+f32x4\.convert_i32x4_s/);
    expect(wat).not.toMatch(/f32\.convert_i32_[su]\s+f32x4\.splat/);
    const g0 = parseGraph(src);
    const x = Tensor.fromNumbers('float32', [1, 4, 8, 8], Array.from({ length: 256 }, (_, i) => Math.sin(i) * 6));
    const feeds = new Map<string, RValue>([['x', x]]);
    const got = (await runOn(getTarget('wasm-simd')!, o2(src, 'wasm-simd'), feeds, opts)).outputs.get('y') as Tensor;
    expect(Array.from(got.num)).toEqual(Array.from((run(g0, feeds).get('y') as Tensor).num));
  }, 120_000);
  it('a schedule with kernel-level directives alone keeps the integer dot products of a dense int8 conv', () => {
    const src = qdq(16, 1, 1, 6), k = qconvKernel(src, 'c');
    const dots = (schedules?: string) => {
      const { prog } = compileC(o2(src, 'c'), { ...opts, ...(schedules ? { schedules: parseScheduleFile(schedules) } : {}) });
      const out = new Set<string>();
      for (const st of prog.sources.get(k)!.stages) if (st.kind === 'compute') walkExpr(st.body, (e) => { if (e.k === 'call' && (e.fn === 'dot2' || e.fn === 'dot4')) out.add(e.fn); });
      return [...out];
    };
    expect(dots().length).toBe(1);
    expect(dots(`kernel ${k} { accumulate i32 }`)).toEqual(dots());
    expect(dots(`kernel ${k} { pad-copy whole }`)).toEqual(dots());
  });
});
