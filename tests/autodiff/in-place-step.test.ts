/**
 * A training step's parameters and state updated in place (codegen/memory/state-alias.ts): the
 * planner lets `<X>_next` share input X's memory only when no kernel reads X after it is written;
 * the wasm loader's step() then keeps them in module memory (no copies), the C harness passes the same
 * buffer. Results equal the interpreter's; a graph reading X after writing `<X>_next` keeps a copy.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue, type Value } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { autodiff } from '@aic/passes';
import { compileWasm, loadWasmSync } from '../../codegen/wasm/target.ts';
import { compileC } from '../../codegen/c/target.ts';
import { buildC, runC } from '../../codegen/c/build.ts';

const MODEL = `graph g(x: f32[4, 3]) -> (y: f32[4, 2]) {
  w: f32[3, 2] = [0.5, -1, 2, 0.25, 1.5, -0.75]
  s: f32[2] = [1.5, 0.5]
  b: f32[2] = [0.1, -0.2]
  m: f32[2] = [0.2, -0.1]
  v: f32[2] = [0.8, 1.3]
  y = BatchNormalization(MatMul(x, w), s, b, m, v)
}`;
const X = Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
const LABELS = [1, 0, 1, 1];

type Arrays = Record<string, Float32Array | BigInt64Array>;
interface StepModel { step(f: Arrays): Arrays; parameters(): Arrays; runSync(f: Arrays): Arrays }
const arrays = (vs: Value[]): Arrays => Object.fromEntries(vs.map((v) => [v.name,
  v.dtype === 'int64' ? new BigInt64Array(v.const!.toNumbers().map(BigInt)) : new Float32Array(v.const!.toNumbers())]));

/** `n` interpreter steps, each <name>_next fed back */
function interpSteps(graph: import('@aic/core').Graph, init: Value[], n: number): Map<string, number[]> {
  let feeds = new Map<string, RValue>(init.map((v) => [v.name, v.const!]));
  for (let s = 0; s < n; s++) {
    const outs = run(graph, new Map<string, RValue>([['x', Tensor.fromNumbers('float32', [4, 3], X)], ['labels', Tensor.fromNumbers('int64', [4], LABELS)], ...feeds]));
    feeds = new Map(init.map((v) => [v.name, outs.get(`${v.name}_next`)!]));
  }
  return new Map([...feeds].map(([k, v]) => [k, (v as Tensor).toNumbers()]));
}

describe('in-place parameter update', () => {
  for (const optimizer of ['sgd', 'momentum', 'adam'] as const) {
    it(`${optimizer} (BatchNorm training mode): wasm-simd step() equals the interpreter; the parameters share their memory`, () => {
      const model = parseGraph(MODEL);
      const { graph, params, state } = autodiff.trainStepModel(model, { loss: 'cross-entropy', lr: 0.1, optimizer, batchnorm: 'train' });
      const compiled = compileWasm(graph, { simd: true, version: 'test', source: 'test', sourceHash: '-' });
      const shared = compiled.plan.stateAlias;
      // every parameter updates in place (sgd and momentum: an elementwise kernel per parameter)
      for (const p of params) expect([...shared.values()].map((n) => compiled.prog.inputs.find((i) => i.name === n)!.value)).toContain(p.name);
      const meta = compiled.art.meta;
      for (const [o, i] of shared) {
        const mo = meta.outputs.find((x) => x.name === compiled.prog.outputs.find((b) => b.name === o)!.value)!;
        const mi = meta.inputs.find((x) => x.name === compiled.prog.inputs.find((b) => b.name === i)!.value)!;
        expect(mo.offset).toBe(mi.offset);
      }
      const m = loadWasmSync(compiled) as unknown as StepModel;
      const data = { x: new Float32Array(X), labels: new BigInt64Array(LABELS.map(BigInt)) };
      m.step({ ...data, ...arrays([...params, ...state]) });
      for (let s = 1; s < 3; s++) m.step(data);
      const want = interpSteps(graph, [...params, ...state], 3);
      const held = m.parameters();
      for (const [k, v] of want) Array.from(held[k]!, Number).forEach((e, i) => expect(e).toBeCloseTo(v[i]!, 4));
      // a plain run in between keeps the held values (it overwrites the module's memory)
      m.runSync({ ...data, ...arrays([...params, ...state]) });
      for (const [k, v] of want) Array.from(m.parameters()[k]!, Number).forEach((e, i) => expect(e).toBeCloseTo(v[i]!, 4));
    });
  }

  it('keeps a copy when X is read after <X>_next is written', () => {
    const g = parseGraph(`graph g(w: f32[3]) -> (w_next: f32[3], y: f32[3]) {
      w_next = Neg(w)
      y = Mul(Exp(w_next), w)
    }`);
    const compiled = compileWasm(g, { simd: true, version: 'test', source: 'test', sourceHash: '-' });
    expect(compiled.plan.stateAlias.size).toBe(0);
    const ok = compileWasm(parseGraph(`graph g(w: f32[3]) -> (y: f32[3], w_next: f32[3]) {
      y = Exp(w)
      w_next = Neg(w)
    }`), { simd: true, version: 'test', source: 'test', sourceHash: '-' });
    expect(ok.plan.stateAlias.size).toBe(1);
  });

  it('c: the harness passes the parameter buffers as the _next outputs; one step equals the interpreter', () => {
    const model = parseGraph(MODEL);
    const { graph, params, state } = autodiff.trainStepModel(model, { loss: 'cross-entropy', lr: 0.1, optimizer: 'momentum', batchnorm: 'train' });
    const compiled = compileC(graph, { version: 'test', source: 'test', sourceHash: '-' });
    expect(compiled.art.h).toMatch(/'w_next' float32 \[3, 2\] \(6 elements\); may be input \d+'s buffer/);
    const feeds = new Map<string, RValue>([['x', Tensor.fromNumbers('float32', [4, 3], X)], ['labels', Tensor.fromNumbers('int64', [4], LABELS)],
      ...[...params, ...state].map((v) => [v.name, v.const!] as [string, RValue])]);
    const got = runC(buildC(compiled.art, compiled.prog), compiled.art, compiled.prog, feeds).outputs;
    const want = run(graph, feeds);
    for (const v of [...params, ...state]) {
      const g = (got.get(`${v.name}_next`) as Tensor).toNumbers(), w = (want.get(`${v.name}_next`) as Tensor).toNumbers();
      g.forEach((e, i) => expect(e).toBeCloseTo(w[i]!, 4));
    }
  });
});
