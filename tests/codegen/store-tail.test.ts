/**
 * Split tail 'store' (packages/loop-ir schedule.ts, chosen by codegen/schedule/defaults.ts): output
 * channels with no power-of-two divisor as wide as the vectors (30 here; 921 and 460 in torchvision's
 * r2plus1d_18) run in whole vectors over a weight packed zero-filled to whole blocks; the last block's
 * reduction runs over the zero lanes in registers and only its stores are guarded. Before, such a conv
 * ran in scalar lanes (C) or in vectors of the largest power-of-two divisor. A 3-D conv (a (2+1)-D
 * block's spatial (1, 3, 3) conv, which stays row-major at -O3) and a 2-D one at -O2, with bias + Relu:
 * equal to the reference interpreter on the loop-IR interpreter, C and WebAssembly SIMD.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { compileC, runProgram } from '@aic/codegen';
import { parseDirective, parseScheduleFile, printDirective, printSchedule } from '@aic/loop-ir';
import { checkCompiled, compileAt, values } from './dsl-values.ts';

const M = 30;
const conv3d = `graph g(x: f32[1, 8, 2, 3, 3]) -> (y: f32[1, ${M}, 2, 3, 3]) {
  w: f32[${M}, 8, 1, 3, 3] = ${values(M * 72, 5)}
  b: f32[${M}] = ${values(M, 6)}
  c = Conv(x, w, b, pads = [0, 1, 1, 0, 1, 1])
  y = Relu(c)
}`;
const conv2d = `graph g(x: f32[2, 8, 3, 3]) -> (y: f32[2, ${M}, 3, 3]) {
  w: f32[${M}, 8, 3, 3] = ${values(M * 72, 7)}
  b: f32[${M}] = ${values(M, 8)}
  c = Conv(x, w, b, pads = [1, 1, 1, 1])
  y = Relu(c)
}`;
const input = (shape: number[]) => (): Map<string, RValue> => {
  const t = new Tensor('float32', shape);
  for (let i = 0; i < t.size; i++) t.num[i] = Math.sin(i * 0.41) * 2;
  return new Map([['x', t]]);
};
const meta = { version: 'test', source: 'store-tail', sourceHash: '-' };
const storeSplits = (prog: ReturnType<typeof compileC>['prog']) => [...prog.schedules.values()].flat()
  .filter((d) => d.d === 'split' && d.tail === 'store').map((d) => printDirective(d));

describe('split tail store: whole vectors over output channels they do not divide', () => {
  for (const [what, src, shape, level] of [['3-D conv, -O3', conv3d, [1, 8, 2, 3, 3], 3], ['2-D conv, -O2', conv2d, [2, 8, 3, 3], 2]] as const) {
    for (const [target, lanes] of [['c', 16], ['wasm-simd', 4]] as const) {
      it(`${target}, ${what}: ${M} channels in vectors of ${lanes}, only the last block's stores guarded`, async () => {
        const { want, compiled, feeds } = compileAt(src, target, input([...shape]), meta, level);
        expect(storeSplits(compiled.prog)).toEqual([expect.stringMatching(new RegExp(`^split \\w+ by ${lanes} store$`))]);
        await checkCompiled(compiled, target, feeds, want.get('y') as Tensor);
      }, 120_000);
    }
  }

  it('prints and parses back; a --schedule file may use it only where the default does', () => {
    expect(parseDirective('split i7 by 16 store')).toEqual({ d: 'split', axis: 'i7', factor: 16, tail: 'store' });
    expect(printDirective({ d: 'split', axis: 'i7', factor: 16, tail: 'store' })).toBe('split i7 by 16 store');
    const { compiled, feeds } = compileAt(conv3d, 'c', input([1, 8, 2, 3, 3]), meta, 3);
    const [k, dirs] = [...compiled.prog.schedules].find(([, d]) => d.some((x) => x.d === 'split' && x.tail === 'store'))!;
    const again = compileAt(conv3d, 'c', input([1, 8, 2, 3, 3]), { ...meta, schedules: parseScheduleFile(printSchedule(k, dirs)) } as typeof meta, 3);
    expect(Array.from((runProgram(again.compiled.prog, feeds).get('y') as Tensor).num)).toEqual(Array.from((runProgram(compiled.prog, feeds).get('y') as Tensor).num));
    const split = dirs.find((x) => x.d === 'split' && x.tail === 'store') as { axis: string };
    expect(() => compileAt(conv3d, 'c', input([1, 8, 2, 3, 3]), { ...meta, schedules: parseScheduleFile(`kernel ${k} { split ${split.axis} by 8 store }`) } as typeof meta, 3))
      .toThrow(/store. only where the default schedule has it/);
  });
});
