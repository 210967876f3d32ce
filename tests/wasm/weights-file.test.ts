/**
 * model.weights stores narrow values narrow (codegen/wasm/weights-file.ts): int8 weights a schedule
 * widened in memory (int16 pairs for pair dot products, int32 taps) take one byte each in the file and
 * the loader widens them back. The memory image after loading is byte for byte the one the kernels were
 * compiled against; a pointwise int8 conv's outputs through the written model.mjs equal the interpreter's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { compileFor, getTarget, passTargetOf } from '@aic/codegen';
import { compileWasm, writeWasmArtifact } from '../../codegen/wasm/target.ts';
import { encodeWeights, PLACE_WEIGHTS_JS } from '../../codegen/wasm/weights-file.ts';
import type { ProgramBuffer } from '../../codegen/lower/program.ts';

type Place = (mem: Uint8Array, w: { parts?: unknown }, file: Uint8Array) => void;
const placeWeights = new Function(`${PLACE_WEIGHTS_JS}; return placeWeights;`)() as Place;

let seed = 99;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));

describe('narrow model.weights', () => {
  it('round-trips every kind: int8 in int32, int8 pairs in int32 words, int16 in int32, int8 in int16, and raw data between', () => {
    const cases: [string, string, ArrayLike<number>, Int32ArrayConstructor | Int16ArrayConstructor | Float32ArrayConstructor][] = [
      ['head', 'f32', [1.5, -2, 3e9], Float32Array],
      ['a', 'i32', ints(37, -128, 127), Int32Array], // 1 byte per word
      ['b', 'i32', ints(40, -128, 127).map((v, i, a) => (i % 2 ? 0 : (v & 0xffff) | (a[i + 1]! << 16))), Int32Array], // pairs
      ['c', 'i32', ints(9, -1143, 1143), Int32Array], // int16
      ['d', 'i32', [0x12345678, -5, 7], Int32Array], // stays
      ['e', 'i16', ints(11, -128, 127), Int16Array],
      ['f', 'i16', [300, -2, 5], Int16Array], // stays
    ];
    const ws: ProgramBuffer[] = [], offsets = new Map<string, number>();
    const bytesOf = (w: ProgramBuffer) => cases.find((c) => c[0] === w.name)![2].length * cases.find((c) => c[0] === w.name)![3].BYTES_PER_ELEMENT;
    let off = 64;
    for (const [name, dtype, vals] of cases) {
      const w = { name, dtype, shape: [vals.length] } as unknown as ProgramBuffer;
      ws.push(w); offsets.set(name, off); off = Math.ceil((off + bytesOf(w)) / 64) * 64;
    }
    const blob = new Uint8Array(off);
    blob.set(new TextEncoder().encode('AICW0001-header-'), 0);
    for (const [name, , vals, C] of cases) blob.set(new Uint8Array(C.from(vals).buffer), offsets.get(name)!);
    const { file, parts } = encodeWeights(blob, ws, offsets, bytesOf);
    expect(parts!.map((p) => p[2]).filter((k) => k !== 0)).toEqual([2, 1, 3, 1]);
    expect(file.length).toBeLessThanOrEqual(blob.length - (37 * 3 + 40 * 2 + 9 * 2 + 11) + 3 * 4); // saved, less alignment pads
    const mem = new Uint8Array(blob.length + 128).fill(0xaa);
    placeWeights(mem.subarray(64, 64 + blob.length), { parts }, file);
    expect(mem.subarray(64, 64 + blob.length)).toEqual(blob);
    expect(mem[63]).toBe(0xaa); expect(mem[64 + blob.length]).toBe(0xaa);
  });

  it('a pointwise int8 conv: the file is smaller than its weights in memory; the written model.mjs matches the interpreter', async () => {
    const C = 32, M = 24, hw = 6;
    const src = `graph g(x: u8[1, ${C}, ${hw}, ${hw}]) -> (y: u8[1, ${M}, ${hw}, ${hw}]) {
  sx: f32[] = 0.05
  zx: u8[] = 7
  wq: i8[${M}, ${C}, 1, 1] = [${ints(M * C, -127, 127).join(', ')}]
  ws: f32[${M}] = [${Array.from({ length: M }, (_, i) => 2 ** -(8 + (i % 3))).join(', ')}]
  sy: f32[] = 0.25
  zy: u8[] = 5
  y = QuantizeLinear(Relu(Conv(DequantizeLinear(x, sx, zx), DequantizeLinear(wq, ws, axis = 0))), sy, zy)
}`;
    const g = runPipeline(parseGraph(src), pipelineFor(2), { target: passTargetOf(getTarget('wasm-simd')!), out: () => {} }).graph;
    expect(g.nodes.map((n) => n.op)).toContain('QConv');
    const c = compileWasm(g, { simd: true, version: 'test', source: 'weights-file', sourceHash: '-' });
    expect(c.art.meta.weights!.parts!.some((p) => p[2] === 1)).toBe(true); // int16 pairs of int8 values
    expect(c.art.weightsFile!.length).toBeLessThan(c.art.weights!.length - M * C / 2);
    // --stats gives both sizes
    const t = getTarget('wasm-simd')!;
    const stats = t.stats!(compileFor(t, g, { version: 'test', source: 'weights-file', sourceHash: '-' }), (n) => `${n} B`);
    expect(stats).toContain(`model.weights ${c.art.weightsFile!.length} B (${c.art.weights!.length} B in memory)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-wfile-'));
    try {
      writeWasmArtifact(dir, c);
      expect(fs.statSync(path.join(dir, 'model.weights')).size).toBe(c.art.weightsFile!.length);
      const x = Tensor.fromNumbers('uint8', [1, C, hw, hw], ints(C * hw * hw, 0, 255));
      const want = run(parseGraph(src), new Map<string, RValue>([['x', x]])).get('y') as Tensor;
      const mod = await import(pathToFileURL(path.join(dir, 'model.mjs')).href);
      const model = await mod.load();
      const got = model.runSync({ x: Uint8Array.from(x.num as ArrayLike<number>) }).y as Uint8Array;
      expect(Array.from(got)).toEqual(Array.from(want.num));
      expect(new Set(Array.from(got)).size).toBeGreaterThan(10);
      // a model.weights cut short is refused by its size
      await expect(mod.load({ weights: c.art.weightsFile!.subarray(1) })).rejects.toThrow(`expected ${c.art.weightsFile!.length} bytes`);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});
