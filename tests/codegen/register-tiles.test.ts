/**
 * Register tiles sized by the target's register count (codegen/schedule/wide-tile.ts): on wasm-simd
 * (16 vector registers) a 1x1 conv's GEMM over the flattened map gets 4 rows x 2 vectors (8
 * accumulators) and a tile of one vector at most 7 rows (8 rows spill in V8); on C with AVX-512-class
 * caps (32 registers) 12 x 2. The scheduled kernels give exactly the unscheduled result (loop interpreter).
 */
import { describe, expect, it } from 'vitest';
import type { Directive } from '@aic/loop-ir';
import { chooseSchedules, lowerGraph, rescheduleProgram, runProgram } from '@aic/codegen';
import { C_CAPS, WASM_SIMD_CAPS } from '../../codegen/caps.ts';
import { maxTileRows, twoContiguousVectors } from '../../codegen/schedule/wide-tile.ts';
import { tileRows } from '../../codegen/schedule/blocked.ts';
import { convKernel, convModel } from './conv-case.ts';

const splits = (dirs: Directive[]) => dirs.filter((d): d is Extract<Directive, { d: 'split' }> => d.d === 'split').map((d) => `${d.axis}/${d.factor}`);

describe('register tiles and the register count', () => {
  it('tile limits: 16 registers 7 x 1 / 4 x 2, 32 registers 8 x 1 / 12 x 2', () => {
    expect(maxTileRows(1, false, false)).toBe(7);
    expect(maxTileRows(2, false, false)).toBe(4);
    expect(maxTileRows(1, false, true)).toBe(8);
    expect(maxTileRows(2, true, true)).toBe(12);
    expect(twoContiguousVectors(64, 4, false, false)).toBe(true);
    expect(twoContiguousVectors(64, 8, false, true)).toBe(false);
    expect(twoContiguousVectors(7, 4, false, false)).toBe(false);
  });

  it('channel-blocked tiles (blocked.ts): two 16-lane blocks take up to 8 rows (16 accumulators), 4-lane blocks 4', () => {
    // an 8-wide map (fcn_resnet50's dilated layer3 / layer4 at 64x64) is one tile of 8, not two of 4
    expect(tileRows(8, 16, 2)).toEqual({ R: 8, clamp: false });
    expect(tileRows(56, 16, 2)).toEqual({ R: 8, clamp: false });
    expect(tileRows(7, 16, 2)).toEqual({ R: 7, clamp: false });
    expect(tileRows(14, 16, 2)).toEqual({ R: 7, clamp: false });
    expect(tileRows(28, 16, 2)).toEqual({ R: 7, clamp: false });
    expect(tileRows(13, 16, 2)).toEqual({ R: 7, clamp: true });
    expect(tileRows(8, 4, 2)).toEqual({ R: 4, clamp: false });
    expect(tileRows(16, 16, 1)).toEqual({ R: 8, clamp: false });
  });

  it('a 1x1 conv on wasm-simd: 4 output channels x 2 vectors of 4 positions, results unchanged', () => {
    const c = { name: '1x1', N: 1, C: 8, H: 6, W: 10, M: 12, k: 1, bias: true, relu: true };
    const { graph, feeds } = convModel(c);
    const plain = Array.from(runProgram(lowerGraph(graph(), WASM_SIMD_CAPS), feeds).get('out')!.num as ArrayLike<number>);
    const p = lowerGraph(graph(), WASM_SIMD_CAPS);
    const k = convKernel(graph());
    const dirs = chooseSchedules(p, WASM_SIMD_CAPS);
    rescheduleProgram(p, dirs);
    const s = splits(dirs.get(k)!);
    // the position axis in blocks of 8 (clamped over 60), two vectors of 4; 4 channel rows
    expect(s.filter((x) => x.endsWith('/8'))).toHaveLength(1);
    expect(s.filter((x) => x.endsWith('/4'))).toHaveLength(2);
    expect(Array.from(runProgram(p, feeds).get('out')!.num as ArrayLike<number>)).toEqual(plain);
  });

  it('wasm-simd: packed output channels over at most 4 rows take two vectors per row, results unchanged', () => {
    // 3 x 3 output positions (no 4-lane axis): vectors over 16 packed output channels, rows over 3
    // columns; two channel vectors x 3 rows instead of one (the -O3 Winograd GEMMs over 4 / 16 tiles)
    const c = { name: 'short', N: 1, C: 8, H: 5, W: 5, M: 16, k: 3, bias: true, relu: true };
    const { graph, feeds } = convModel(c);
    const plain = Array.from(runProgram(lowerGraph(graph(), WASM_SIMD_CAPS), feeds).get('out')!.num as ArrayLike<number>);
    const p = lowerGraph(graph(), WASM_SIMD_CAPS);
    const k = convKernel(graph());
    const dirs = chooseSchedules(p, WASM_SIMD_CAPS, new Map([[k, [{ d: 'algorithm', name: 'direct' }]]]));
    rescheduleProgram(p, dirs);
    const s = splits(dirs.get(k)!);
    expect(s.filter((x) => x.endsWith('_o/2'))).toHaveLength(1);
    expect(s.filter((x) => x.endsWith('/3'))).toHaveLength(1);
    expect(Array.from(runProgram(p, feeds).get('out')!.num as ArrayLike<number>)).toEqual(plain);
  });

  it('a conv on C with 16-lane caps keeps its 32-register tiles (2 vectors of 16 channels)', () => {
    const c = { name: 'c', N: 1, C: 16, H: 9, W: 9, M: 32, pads: [1, 1, 1, 1], bias: true };
    const { graph } = convModel(c);
    const p = lowerGraph(graph(), C_CAPS);
    const k = convKernel(graph());
    const dirs = chooseSchedules(p, { ...C_CAPS, vectorLanes: 16 }, new Map([[k, [{ d: 'algorithm', name: 'direct' }]]]));
    expect(splits(dirs.get(k)!)).toContain('i5/16');
  });
});
