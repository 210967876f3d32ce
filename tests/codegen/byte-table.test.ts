/**
 * Byte -> byte elementwise kernels as 256-entry tables (codegen/schedule/byte-table.ts): a quantized
 * model's float activation between QDQ pairs (SiLU: DQ -> x * Sigmoid(x) -> Q; Tanh on int8) becomes
 * `out = table[x]` on C and wasm-simd and equals the interpreter on every one of the 256 input values;
 * a chain without a costly intrinsic (DQ -> Relu -> Q) stays computed.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { walkExpr } from '@aic/loop-ir';
import { compileC, getTarget, passTargetOf, runOn, type Program } from '@aic/codegen';
import { compileWasm } from '../../codegen/wasm/target.ts';

const opts = { version: 'test', source: 'byte-table', sourceHash: '-' };
const o2 = (src: string, t: string) => runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget(t)!), out: () => {} }).graph;

function graph(t: 'u8' | 'i8', act: string): string {
  const zx = t === 'u8' ? 131 : -5, zy = t === 'u8' ? 60 : 3;
  return `graph g(x: ${t}[1, 4, 16, 16]) -> (y: ${t}[1, 4, 16, 16]) {
  sx: f32[] = 0.043
  zx: ${t}[] = ${zx}
  sy: f32[] = 0.021
  zy: ${t}[] = ${zy}
  d = DequantizeLinear(x, sx, zx)
  y = QuantizeLinear(${act}, sy, zy)
}`;
}

/** the loads of each kernel's one stage: table loads are those of an [256] weight */
function tableKernels(prog: Program): string[] {
  const out: string[] = [];
  for (const [name, src] of prog.sources) {
    const tables = new Set(src.params.filter((p) => p.role === 'weight' && p.shape.length === 1 && p.shape[0] === 256).map((p) => p.name));
    let reads = false;
    for (const st of src.stages) if (st.kind === 'compute') walkExpr(st.body, (e) => { if (e.k === 'load' && tables.has(e.buf)) reads = true; });
    if (reads) out.push(name);
  }
  return out;
}

describe('byte -> byte kernels as tables', () => {
  const cases: [string, 'u8' | 'i8', string, boolean][] = [
    ['SiLU on uint8', 'u8', 'Mul(d, Sigmoid(d))', true],
    ['Tanh on int8', 'i8', 'Tanh(d)', true],
    ['Relu (no costly intrinsic: computed)', 'u8', 'Relu(d)', false],
  ];
  for (const [what, t, act, tabled] of cases) {
    for (const target of ['c', 'wasm-simd']) {
      it(`${what}: ${target} ${tabled ? 'reads a table' : 'computes'} and equals the interpreter on all 256 values`, async () => {
        const src = graph(t, act);
        const g = o2(src, target);
        const prog = target === 'c' ? compileC(g, opts).prog : compileWasm(g, { ...opts, simd: true }).prog;
        expect(tableKernels(prog).length).toBe(tabled ? 1 : 0);
        const lo = t === 'u8' ? 0 : -128;
        const x = Tensor.fromNumbers(t === 'u8' ? 'uint8' : 'int8', [1, 4, 16, 16], Array.from({ length: 1024 }, (_, i) => lo + ((i * 7) % 256)));
        const feeds = new Map<string, RValue>([['x', x]]);
        const want = run(parseGraph(src), feeds).get('y') as Tensor;
        const got = (await runOn(getTarget(target)!, g, feeds, opts)).outputs.get('y') as Tensor;
        expect(Array.from(got.num)).toEqual(Array.from(want.num));
        expect(new Set(Array.from(want.num)).size).toBeGreaterThan(30);
      }, 120_000);
    }
  }
  it('a --schedule naming the kernel\'s loops keeps the table (the stage keeps its loops)', () => {
    const src = graph('u8', 'Mul(d, Sigmoid(d))');
    const def = compileC(o2(src, 'c'), opts).prog;
    const [k] = tableKernels(def);
    const st = def.sources.get(k)!.stages[0]!;
    if (st.kind !== 'compute') throw new Error('expected a compute stage');
    const inner = st.axes.at(-1)!;
    const asked = compileC(o2(src, 'c'), { ...opts, schedules: new Map([[k, [{ d: 'split', axis: inner, factor: 4 }, { d: 'unroll', axis: `${inner}_i` }]]]) });
    expect(tableKernels(asked.prog)).toEqual([k]);
  });
});
