/**
 * The `panel` dimension of the tuner's space (codegen/schedule/col-pack.ts): a MatMul with a constant B
 * on wasm-simd offers its column-panel widths (the default's first), mutations reach the others as
 * that width's default schedule, every width gives the same bits, and a tuning log record whose panel
 * the kernel cannot pack is a `mismatched` issue, never applied.
 */
import { describe, expect, it } from 'vitest';
import { C_TARGET, WASM_SIMD_TARGET, compileFor, kernelSpace, lowerGraph, makeRng, mutate, scheduleText, thisMachine, tuningSchedules, workloadsOf } from '@aic/codegen';
import { constMatmul } from '../helpers.ts';
import type { Directive } from '@aic/loop-ir';

const opts = (schedules?: Map<string, Directive[]>) => ({ version: 't', source: 't', sourceHash: '-', schedules });
const panelOf = (d: readonly Directive[]) => d.find((x): x is Extract<Directive, { d: 'panel' }> => x.d === 'panel')?.lanes;

describe('tuner space: column-panel width (wasm-simd MatMul)', () => {
  it('offers 8 (default), 4 and 16 lanes; mutations reach both others; every width gives the same bits', () => {
    const { g, feeds } = constMatmul(8, 24, 64);
    const prog = lowerGraph(g, WASM_SIMD_TARGET.caps!);
    const k = [...prog.sources.keys()][0];
    expect(kernelSpace(prog, k, false, WASM_SIMD_TARGET.caps).panels).toEqual([8, 4, 16]);
    // C (16-lane vectors) packs column panels only for a B over 32 KiB (this one is 6 KiB); without caps
    // the space has no panel choice
    expect(kernelSpace(lowerGraph(g, C_TARGET.caps!), k, false, C_TARGET.caps).panels).toBeUndefined();
    const cSpace = (M: number) => { const p = lowerGraph(constMatmul(M, 128, 128).g, C_TARGET.caps!); return kernelSpace(p, [...p.sources.keys()][0]!, false, C_TARGET.caps).panels; };
    // 8 rows in two tiles of 4: one vector per row, the panel loop outermost (defaults.ts panelOuter)
    expect(cSpace(8)).toEqual([16, 32, 64]);
    expect(cSpace(4)).toEqual([32, 16, 64]);
    // many rows: the wide tile over 32-lane panels by default (12 x 2; 16 and 64 lanes: 8 x 1, 6 x 4)
    expect(cSpace(48)).toEqual([32, 16, 64]);
    const small = lowerGraph(constMatmul(48, 32, 128).g, C_TARGET.caps!);
    expect(kernelSpace(small, [...small.sources.keys()][0]!, false, C_TARGET.caps).panels).toBeUndefined(); // 16 KiB
    expect(kernelSpace(prog, k).panels).toBeUndefined();

    const def = compileFor(WASM_SIMD_TARGET, g, opts());
    const dirs = def.prog.schedules.get(k)!;
    expect(panelOf(dirs)).toBe(8);
    const space = kernelSpace(lowerGraph(g, WASM_SIMD_TARGET.caps!), k, false, WASM_SIMD_TARGET.caps);
    const rng = makeRng(5);
    const reached = new Map<number, Directive[]>();
    for (let i = 0; i < 400 && reached.size < 2; i++) {
      const m = mutate(dirs, space, rng);
      if (m && m.length === 1 && m[0].d === 'panel') reached.set(m[0].lanes, m);
    }
    expect([...reached.keys()].sort((a, b) => a - b)).toEqual([4, 16]);
    const ref = Array.from(WASM_SIMD_TARGET.runCompiledSync!(def, feeds).get('y')!.num as ArrayLike<number>);
    for (const [lanes, cand] of reached) {
      const c = compileFor(WASM_SIMD_TARGET, g, opts(new Map([[k, cand]])));
      const realized = c.prog.schedules.get(k)!;
      expect(panelOf(realized)).toBe(lanes);
      // that width's default loops: lanes / 4 vectors per row
      const vs = realized.find((d) => d.d === 'split' && d.axis.endsWith('_o'));
      expect(vs && vs.d === 'split' ? vs.factor : 1).toBe(lanes / 4);
      expect(Array.from(WASM_SIMD_TARGET.runCompiledSync!(c, feeds).get('y')!.num as ArrayLike<number>)).toEqual(ref);
    }
  });

  it('a log record with a panel the kernel cannot pack is mismatched and not applied; a good one applies', () => {
    const { g } = constMatmul(8, 24, 64);
    const w = workloadsOf(lowerGraph(g, WASM_SIMD_TARGET.caps!))[0];
    const rec = (schedule: Directive[], trial: number, us: number) => JSON.stringify({
      workload: w.key, op: w.op, target: 'wasm-simd', machine: thisMachine(), schedule: scheduleText(schedule), median_us: us, aic_version: 't', trial,
    });
    const def = compileFor(WASM_SIMD_TARGET, g, opts()).prog.schedules.get(w.kernels[0])!;
    const bad = tuningSchedules(g, WASM_SIMD_TARGET, [{ file: 'bad.jsonl', text: `${rec(def, 0, 10)}\n${rec([{ d: 'panel', lanes: 12 }], 1, 5)}\n` }], 't');
    expect(bad.kernels).toBe(0);
    expect(bad.issues).toEqual([expect.objectContaining({ file: 'bad.jsonl', line: 2, kind: 'mismatched', why: expect.stringMatching(/panel 12 does not apply to kernel \w+ \(its panels: 8, 4, 16 lanes\)/) })]);
    const good = tuningSchedules(g, WASM_SIMD_TARGET, [{ file: 'good.jsonl', text: `${rec(def, 0, 10)}\n${rec([{ d: 'panel', lanes: 16 }], 1, 5)}\n` }], 't');
    expect(good.issues).toEqual([]);
    expect(good.schedules.get(w.kernels[0])).toEqual([{ d: 'panel', lanes: 16 }]);
    // a MatMul only one width fits (N = 8: 4-lane panels): its realized default names `panel 4`, and
    // a record carrying it applies (no choice to search, but nothing mismatched)
    const narrow = constMatmul(8, 24, 8).g;
    const wn = workloadsOf(lowerGraph(narrow, WASM_SIMD_TARGET.caps!))[0];
    expect(kernelSpace(lowerGraph(narrow, WASM_SIMD_TARGET.caps!), wn.kernels[0], false, WASM_SIMD_TARGET.caps).panels).toEqual([4]);
    const defN = compileFor(WASM_SIMD_TARGET, narrow, opts()).prog.schedules.get(wn.kernels[0])!;
    expect(panelOf(defN)).toBe(4);
    const recN = (trial: number, us: number) => JSON.stringify({ workload: wn.key, op: wn.op, target: 'wasm-simd', machine: thisMachine(), schedule: scheduleText(defN), median_us: us, aic_version: 't', trial });
    const one = tuningSchedules(narrow, WASM_SIMD_TARGET, [{ file: 'one.jsonl', text: `${recN(0, 10)}\n${recN(1, 5)}\n` }], 't');
    expect(one.issues).toEqual([]);
    expect(one.kernels).toBe(1);
  });
});
