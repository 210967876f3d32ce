/**
 * A tuner runner for tests: compiles for real through the one driver (so candidates must realize on
 * the target), but "times" each schedule by a hash of its text: deterministic and machine-independent.
 */
import { createHash } from 'node:crypto';
import { batchGraph, compileFor, type Target, type TuneRunner } from '@aic/codegen';
import type { Graph } from '@aic/core';
import { printDirective, type Directive } from '@aic/loop-ir';

export function fakeRunner(target: Target<unknown>, graph: Graph, fail?: (k: string, d: Directive[]) => boolean): TuneRunner {
  const fakeUs = (op: string, d: Directive[]) => 10 + createHash('sha256').update(op + d.map(printDirective).join(';')).digest()[0] / 8 + (op.includes('Conv') ? 50 : 0);
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
    measure(src, cands) {
      for (const d of cands) if (fail?.(src.name, d)) throw new Error('fake failure');
      const b = batchGraph(src, cands.length + 1, target.caps!)!;
      const prog = compile(b.graph, new Map(cands.map((d, i) => [b.kernels[i + 1], d])));
      const dirs = b.kernels.map((k) => prog.schedules.get(k) ?? []);
      return { defaultUs: fakeUs(src.op, dirs[0]), us: dirs.slice(1).map((d) => fakeUs(src.op, d)), agree: cands.map(() => true), defaultDirs: dirs[0], realized: dirs.slice(1) };
    },
  };
}
