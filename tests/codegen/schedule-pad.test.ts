/**
 * `split A by N pad` in a --schedule file: what --emit schedule prints for a -O3 kernel whose blocked
 * output channels are not whole blocks parses back and compiles to the same results; on a kernel whose
 * default schedule does not pad that axis (its buffers have no padding lanes to run into) it is a
 * usage error, not an out-of-bounds store.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '@aic/core';
import { parseGraph } from '@aic/dsl';
import { pipelineFor, runPipeline } from '@aic/passes';
import { compileC, passTarget, prepareForRun, runProgram } from '@aic/codegen';
import { parseScheduleFile, printSchedule } from '@aic/loop-ir';

const SRC = `graph g(x: f32[1, 8, 6, 6]) -> (y: f32[1, 6, 6, 6]) {
  w1: f32[10, 8, 3, 3] = ${JSON.stringify(Array.from({ length: 720 }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000))}
  w2: f32[6, 10, 1, 1] = ${JSON.stringify(Array.from({ length: 60 }, (_, i) => Math.round(Math.cos(i) * 1000) / 1000))}
  c1 = Conv(x, w1, pads = [1, 1, 1, 1])
  r1 = Relu(c1)
  y = Conv(r1, w2)
}`;
const meta = { version: 'test', source: 'schedule-pad', sourceHash: '-' };
const graph = () => {
  const g = runPipeline(parseGraph(SRC), pipelineFor(3), { target: passTarget('wasm-simd'), out: () => {} }).graph;
  const x = new Tensor('float32', [1, 8, 6, 6]);
  for (let i = 0; i < x.size; i++) x.num[i] = Math.sin(i * 0.3);
  const feeds = new Map([['x', x]]);
  prepareForRun(g, feeds);
  return { g, feeds };
};

describe('split tail pad in --schedule files', () => {
  it('the printed default schedule of a padded blocked kernel compiles back to the same results', () => {
    const { g, feeds } = graph();
    const c = compileC(g, meta);
    const [k, dirs] = [...c.prog.schedules].find(([, d]) => d.some((x) => x.d === 'split' && x.tail === 'pad'))!;
    const again = compileC(graph().g, { ...meta, schedules: parseScheduleFile(printSchedule(k, dirs)) });
    expect(Array.from((runProgram(again.prog, feeds).get('y') as Tensor).num)).toEqual(Array.from((runProgram(c.prog, feeds).get('y') as Tensor).num));
  });

  it('pad where the default schedule does not pad is a usage error', () => {
    const { g } = graph();
    const c = compileC(g, meta);
    const k = [...c.prog.sources.keys()].find((name) => !(c.prog.schedules.get(name) ?? []).some((x) => x.d === 'split' && x.tail === 'pad'))!;
    const axis = c.prog.sources.get(k)!.stages.find((s) => s.kind === 'compute')!.axes[1];
    expect(() => compileC(graph().g, { ...meta, schedules: parseScheduleFile(`kernel ${k} { split ${axis} by 4 pad }`) })).toThrow(/pad. only where the default schedule has it/);
  });
});
