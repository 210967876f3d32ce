/**
 * eliminate-redundant beyond the golden files: every rule has a golden test that applies it, the
 * exactness claims behind cast-round-trip and dequantize-quantize hold on whole value ranges, and
 * --explain reports rejections with a reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, castTensor, type DType } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { parsePipeline, runPipeline, type ExplainRecord } from '@aic/passes';
import { redundantRules } from '../../passes/rules/redundant/index.ts';
import { castIsLossless } from '../../passes/rules/redundant/chains.ts';
import { parseGolden } from './filecheck.ts';

const GOLDEN = path.join(import.meta.dirname, 'golden', 'eliminate-redundant');

describe('eliminate-redundant rules', () => {
  it('have unique kebab-case names, a family and a summary', () => {
    const names = redundantRules.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const r of redundantRules) {
      expect(r.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(r.family).not.toBe('');
      expect(r.summary).not.toBe('');
    }
  });

  it('are each applied by at least one golden test', () => {
    const applied = new Set<string>();
    for (const f of fs.readdirSync(GOLDEN).filter((x) => x.endsWith('.aic'))) {
      const text = fs.readFileSync(path.join(GOLDEN, f), 'utf8');
      const { reports } = runPipeline(parseGraph(text, { file: f }), parsePipeline(parseGolden(text).pipeline));
      for (const r of reports) for (const [k, v] of Object.entries(r.stats)) if (v > 0) applied.add(k);
    }
    const missing = redundantRules.map((r) => r.name).filter((n) => !applied.has(n));
    expect(missing).toEqual([]);
  });
});

/** Values that stress a dtype: range ends, small integers, float specials. */
function probes(d: DType): number[] {
  const ints: Partial<Record<DType, [number, number]>> = {
    int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
    int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1], bool: [0, 1],
  };
  const r = ints[d];
  if (r) return [r[0], r[0] + 1, -1, 0, 1, 2, 3, 100, r[1] - 1, r[1]].filter((v) => v >= r[0] && v <= r[1]);
  const max = { float16: 65504, bfloat16: 3.3895313892515355e38, float32: 3.4028234663852886e38, float64: Number.MAX_VALUE }[d as 'float32'];
  const tiny = { float16: 2 ** -24, bfloat16: 2 ** -133, float32: 2 ** -149, float64: Number.MIN_VALUE }[d as 'float32'];
  return [0, -0, 1, -1, 0.1, 1 / 3, max, -max, tiny, -tiny, Infinity, -Infinity, NaN, 12345.678];
}

describe('cast-round-trip table', () => {
  const dtypes: DType[] = ['float16', 'bfloat16', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'bool'];
  for (const a of dtypes) {
    for (const b of dtypes) {
      if (a === b || !castIsLossless(a, b)) continue;
      it(`${a} -> ${b} -> ${a} is exact`, () => {
        const x = Tensor.fromNumbers(a, [probes(a).length], probes(a));
        const back = castTensor(castTensor(x, b), a);
        expect(Array.from(back.num).map((v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(Array.from(x.num).map((v) => (Object.is(v, -0) ? '-0' : String(v))));
      });
    }
  }
  it('rejects lossy round trips', () => {
    expect(castIsLossless('float32', 'int32')).toBe(false);
    expect(castIsLossless('float32', 'float16')).toBe(false);
    expect(castIsLossless('int32', 'float32')).toBe(false);
    expect(castIsLossless('int64', 'float64')).toBe(false);
    expect(castIsLossless('float16', 'bfloat16')).toBe(false);
  });
});

describe('dequantize-quantize is exact on every quantized value', () => {
  const cases: { q: string; d: DType; lo: number; hi: number; s: string; sd: string; z: string }[] = [
    { q: 'u8', d: 'uint8', lo: 0, hi: 255, s: '0.0039215686', sd: 'f32', z: '128' },
    { q: 'i8', d: 'int8', lo: -128, hi: 127, s: '3.7', sd: 'f32', z: '-5' },
    { q: 'u8', d: 'uint8', lo: 0, hi: 255, s: '0.1', sd: 'f16', z: '7' },
    { q: 'i16', d: 'int16', lo: -32768, hi: 32767, s: '0.000123', sd: 'f32', z: '1000' },
    { q: 'u16', d: 'uint16', lo: 0, hi: 65535, s: '17.3', sd: 'f32', z: '0' },
  ];
  for (const c of cases) {
    it(`${c.q} with a ${c.sd} scale ${c.s}`, () => {
      const n = c.hi - c.lo + 1;
      const g = parseGraph(`graph g(x: ${c.q}[${n}]) -> (y: ${c.q}[${n}]) {
        s: ${c.sd}[] = ${c.s}
        z: ${c.q}[] = ${c.z}
        y = Identity(QuantizeLinear(DequantizeLinear(x, s, z), s, z))
      }`);
      const { graph, reports } = runPipeline(g, parsePipeline('eliminate-redundant'));
      expect(reports[0]!.stats['dequantize-quantize']).toBe(1);
      const x = Tensor.fromNumbers(c.d, [n], Array.from({ length: n }, (_, i) => c.lo + i));
      const want = run(g, { x }).get('y') as Tensor;
      const got = run(graph, { x }).get('y') as Tensor;
      expect(Array.from(got.num)).toEqual(Array.from(want.num));
    });
  }
  it('leaves a bfloat16 scale alone (too coarse to round-trip)', () => {
    const g = parseGraph(`graph g(x: u8[4]) -> (y: u8[4]) {
      s: bf16[] = 0.1
      y = Abs(QuantizeLinear(DequantizeLinear(x, s), s))
    }`);
    const { graph } = runPipeline(g, parsePipeline('eliminate-redundant'));
    expect(graph.nodes.map((n) => n.op)).toContain('QuantizeLinear');
  });
});

describe('--explain', () => {
  it('reports rejected candidates with a reason and applied ones', () => {
    const g = parseGraph(`graph g(x: f32[1]) -> (y: f32[10], z: f32[1]) {
      zeros: f32[10] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
      zero: f32[] = 0.0
      y = Add(x, zeros)
      z = Relu(Add(x, zero))
    }`);
    const recs: ExplainRecord[] = [];
    runPipeline(g, parsePipeline('eliminate-redundant'), { explain: (r) => recs.push(r) });
    const add = recs.filter((r) => r.rule === 'add-zero');
    expect(add.some((r) => r.outcome === 'rejected' && /larger shape/.test(r.reason ?? ''))).toBe(true);
    expect(add.some((r) => r.outcome === 'applied')).toBe(true);
    expect(recs.every((r) => r.pass === 'eliminate-redundant')).toBe(true);
  });
});
