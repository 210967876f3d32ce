/**
 * The C target end to end: lower -> schedule (defaults, then --schedule overrides) -> memory plan ->
 * render; writing the artifact directory without ever leaving partial files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag, writeFileAtomic, type Graph } from '@aic/core';
import { ScheduleError, type Directive } from '@aic/loop-ir';
import { C_CAPS } from '../caps.ts';
import { lowerGraph, rescheduleProgram, type Program } from '../lower/program.ts';
import { planMemory, type MemoryPlan } from '../memory/plan.ts';
import { chooseSchedules } from '../schedule/defaults.ts';
import { simplifyDivMod } from '../schedule/pack.ts';
import { renderC, type CArtifact } from './render.ts';

export interface CompileOptions {
  version: string;
  source: string;
  sourceHash: string;
  /** per-kernel schedule overrides (research: --schedule FILE) */
  schedules?: Map<string, Directive[]>;
  /** skip default schedules (plain loop nests) */
  noSchedule?: boolean;
}

export interface CCompiled { prog: Program; art: CArtifact; plan: MemoryPlan }

export function compileC(g: Graph, opts: CompileOptions): CCompiled {
  const prog = lowerGraph(g, C_CAPS);
  const chosen = opts.noSchedule ? new Map<string, Directive[]>() : chooseSchedules(prog, C_CAPS, opts.schedules);
  for (const [k, d] of opts.schedules ?? []) {
    if (!prog.sources.has(k)) throw diag.usage(`--schedule: no kernel '${k}' (kernels: ${[...prog.sources.keys()].join(', ')})`);
    // `algorithm` alone: applied and merged with the default schedule by chooseSchedules
    if (d.length === 0 || d.some((x) => x.d !== 'algorithm')) chosen.set(k, d);
  }
  try {
    rescheduleProgram(prog, chosen);
  } catch (e) {
    if (e instanceof ScheduleError) throw diag.usage(`schedule: ${e.message}`);
    throw e;
  }
  // packed weights index (o*B + i) / B and % B: fold back to the loop variables
  prog.kernels = prog.kernels.map((k) => ({ ...k, body: simplifyDivMod(k.body) }));
  const plan = planMemory(prog);
  const art = renderC(prog, { version: opts.version, source: opts.source, sourceHash: opts.sourceHash, memory: plan });
  return { prog, art, plan };
}

/** Write DIR/model.c, model.h, model.weights (when any), README.md; each file atomically. */
export function writeCArtifact(dir: string, art: CArtifact): string[] {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw diag.usage(`-o '${dir}' exists and is not a directory`);
  const files: [string, string | Uint8Array][] = [['model.c', art.c], ['model.h', art.h], ['README.md', art.readme]];
  if (art.weights) files.push(['model.weights', art.weights]);
  else if (fs.existsSync(path.join(dir, 'model.weights'))) fs.rmSync(path.join(dir, 'model.weights'));
  for (const [f, data] of files) writeFileAtomic(path.join(dir, f), data);
  return files.map(([f]) => path.join(dir, f));
}
