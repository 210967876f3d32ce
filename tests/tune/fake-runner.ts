/**
 * A tuner runner for tests: compiles for real through the one driver (so candidates must realize on
 * the target), but "times" each schedule by a hash of its text: deterministic and machine-independent.
 * Optional hooks make the timings noisy in a known way: `noise(op, schedule text, round, copy)`
 * multiplies a copy's time in a measurement of `rounds` rounds (the search's have one; copy 0 is the default),
 * `modelExtra(kernel, schedule text)` adds µs to a kernel inside the whole model (a cache effect).
 */
import { createHash } from 'node:crypto';
import { batchGraph, compileFor, type Target, type TuneRunner } from '@aic/codegen';
import type { Graph } from '@aic/core';
import { printDirective, type Directive } from '@aic/loop-ir';

export interface FakeHooks {
  noise?: (op: string, sched: string, round: number, copy: number, rounds: number) => number;
  modelExtra?: (kernel: string, sched: string) => number;
}

export const schedText = (d: Directive[]) => d.map(printDirective).join(';');
/** The fake time of a schedule (its directives' text joined by ';') of an op. */
export const fakeTime = (op: string, sched: string) => 10 + createHash('sha256').update(op + sched).digest()[0] / 8 + (op.includes('Conv') ? 50 : 0);

export function fakeRunner(target: Target<unknown>, graph: Graph, fail?: (k: string, d: Directive[]) => boolean, hooks: FakeHooks = {}): TuneRunner {
  const fakeUs = (op: string, d: Directive[]) => fakeTime(op, schedText(d));
  const compile = (g: Graph, s: Map<string, Directive[]>) => compileFor(target, g, { version: 't', source: 't', sourceHash: '-', schedules: s }).prog;
  return {
    target: target.name,
    ...(target.caps?.gpu ? { gpu: true } : {}),
    profile() {
      const prog = compile(graph, new Map());
      const kernelUs = new Map([...prog.schedules].map(([k, d]) => [k, fakeUs(prog.sources.get(k)?.op ?? k, d)]));
      return { kernelUs, dirs: new Map(prog.schedules) };
    },
    alone: (src) => !!batchGraph(src, 2, target.caps!),
    measure(src, cands, rounds = 1) {
      for (const d of cands) if (fail?.(src.name, d)) throw new Error('fake failure');
      const b = batchGraph(src, cands.length + 1, target.caps!)!;
      const prog = compile(b.graph, new Map(cands.map((d, i) => [b.kernels[i + 1], d])));
      const dirs = b.kernels.map((k) => prog.schedules.get(k) ?? []);
      const time = (r: number) => dirs.map((d, c) => fakeUs(src.op, d) * (hooks.noise?.(src.op, schedText(d), r, c, rounds) ?? 1));
      const all = Array.from({ length: rounds }, (_, r) => { const t = time(r); return { defaultUs: t[0], us: t.slice(1) }; });
      return { ...all[0], agree: cands.map(() => true), defaultDirs: dirs[0], realized: dirs.slice(1), ...(rounds > 1 ? { rounds: all } : {}) };
    },
    model(schedules) {
      const prog = compile(graph, schedules);
      const us = [...prog.schedules].reduce((a, [k, d]) => a + fakeUs(prog.sources.get(k)?.op ?? k, d) + (hooks.modelExtra?.(k, schedText(d)) ?? 0), 0);
      return { sample: () => us };
    },
  };
}
