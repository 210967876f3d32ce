/**
 * wasm-simd inlines its f32x4 exp / log / tanh / sigmoid at each use (no call per vector) and rounds exp's
 * exponent by the 1.5 * 2^23 magic number with pmin / pmax clamps: the results must stay bit-identical
 * to the scalar functions (the scalar `wasm` target, and a vectorized loop's own scalar tail), over the
 * clamp ends, overflow, underflow through subnormals, NaN, infinities and signed zeros.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Node, Tensor, Value } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { compileWasm, emitWat, runWasmSync } from '../../codegen/wasm/target.ts';

const OPTS = { version: 'test', source: 'test', sourceHash: '-' };

const SPECIAL = [0, -0, 1, -1, 0.5, -0.5, 1e-30, -1e-30, 88.37, 88.73, 88.8, 89, 89.5, 100, -87.3, -88.5, -100, -103.9, -104,
  -104.5, -150, -1e4, 1e4, NaN, Infinity, -Infinity, 0.6249, 0.625, 0.6251, -0.625, 9.01, -9.01, 3.4e38, -3.4e38, 1.17549435e-38,
  1e-45, 0.34657359, 1.03972077, -0.34657359];
/** 4 lanes x 60 + 3: vectors and a scalar tail in one kernel */
const xs = Float32Array.from({ length: 243 }, (_, i) => i < SPECIAL.length ? SPECIAL[i] : Math.sin(i * 1.37) * (i % 3 === 0 ? 120 : 12));
const pos = Float32Array.from(xs, (v, i) => i < SPECIAL.length ? Math.abs(v) : Math.abs(v) * 10 ** ((i % 13) - 6));

function graphOf(op: string, data: Float32Array): { g: Graph; feeds: Map<string, Tensor> } {
  const g = new Graph('t');
  const x = new Value('x', { dtype: 'float32', shape: [data.length] });
  const y = new Value('y', { dtype: 'float32', shape: undefined });
  g.inputs.push(x);
  g.nodes.push(new Node({ op, inputs: [x], outputs: [y], attrs: {} }));
  g.outputs = [y];
  inferGraph(g, { strict: true });
  return { g, feeds: new Map([['x', Tensor.fromNumbers('float32', [data.length], Array.from(data))]]) };
}

function bits(t: Tensor): (number | string)[] {
  const f = Float32Array.from(t.num as ArrayLike<number>), u = new Uint32Array(f.buffer);
  return Array.from(u, (b, i) => Number.isNaN(f[i]) ? 'nan' : b);
}

describe('wasm-simd inlined math = the scalar functions, bit for bit', () => {
  for (const [op, data] of [['Exp', xs], ['Sigmoid', xs], ['Tanh', xs], ['Log', pos], ['Softplus', xs]] as const) {
    it(op, () => {
      const { g, feeds } = graphOf(op, data);
      const simd = compileWasm(g, { simd: true, ...OPTS });
      const wat = emitWat(simd);
      expect(wat).not.toMatch(/call \$aic_(exp|log|tanh)_f32x4/);
      const scalar = compileWasm(g, { simd: false, ...OPTS });
      const got = runWasmSync(simd, feeds).get('y')!;
      const want = runWasmSync(scalar, feeds).get('y')!;
      expect(bits(got)).toEqual(bits(want));
      if (op === 'Sigmoid') {
        // math.ts's own sigmoid (no exp call, no 1 / (1 + exp(-x))): within 1e-6 relative of the double-precision
        // value; 0 where exp(-|x|) would be subnormal (x < -87.34: sigmoid < 1.2e-38)
        expect(wat).not.toMatch(/aic_exp/);
        const f = got.num as ArrayLike<number>;
        let worst = 0;
        for (let i = 0; i < data.length; i++) {
          const ref = 1 / (1 + Math.exp(-data[i]));
          if (Number.isNaN(ref)) { expect(f[i]).toBeNaN(); continue; }
          expect(Math.abs(f[i] - ref)).toBeLessThanOrEqual(Math.abs(ref) * 1e-6 + 1.2e-38);
          if (ref > 1e-30) worst = Math.max(worst, Math.abs(f[i] - ref) / ref);
        }
        expect(worst).toBeGreaterThan(0);
      }
      if (op === 'Exp') {
        const f = got.num as ArrayLike<number>;
        for (let i = 0; i < data.length; i++) {
          const ref = Math.fround(Math.exp(data[i]));
          if (Number.isNaN(ref)) expect(f[i]).toBeNaN();
          else if (!Number.isFinite(ref)) expect(f[i]).toBe(ref);
          else expect(Math.abs(f[i] - ref)).toBeLessThanOrEqual(Math.abs(ref) * 2.4e-7 + 1.5e-45);
        }
      }
    });
  }
});
