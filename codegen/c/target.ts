/**
 * The C target (target.ts interface): default schedules from the caps, packed-weight index cleanup,
 * memory plan, render; writing the artifact directory without ever leaving partial files; building
 * with the system cc and running (build.ts). compileC / writeCArtifact are the driver's C path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag, writeFileAtomic, type Graph } from '@aic/core';
import { C_CAPS, C_LEGAL } from '../caps.ts';
import { compileFor, memoryStats } from '../driver.ts';
import type { Program } from '../lower/program.ts';
import { elideConcats } from '../memory/concat-views.ts';
import { planMemory, type MemoryPlan } from '../memory/plan.ts';
import { chooseSchedules } from '../schedule/defaults.ts';
import { simplifyDivMod } from '../schedule/pack.ts';
import { localizePadPlanes } from '../schedule/pad-planes.ts';
import { vectorizeCopies } from '../schedule/copy-vectors.ts';
import { CPU_TOLERANCE, type CompileOptions, type Target } from '../target.ts';
import { buildC, runC } from './build.ts';
import { renderC, type CArtifact } from './render.ts';

/** (the driver's options; kept under this name for existing importers) */
export type { CompileOptions } from '../target.ts';

export interface CCompiled { prog: Program; art: CArtifact; plan: MemoryPlan }

export const C_TARGET: Target<CArtifact> = {
  name: 'c',
  summary: 'portable C99 (+ GCC/Clang vector extensions): model.c, model.h, model.weights',
  compile: true,
  run: true,
  needsStaticShapes: true,
  listed: true,
  caps: C_CAPS,
  dtypes: C_CAPS.dtypes,
  tolerance: CPU_TOLERANCE,
  legal: C_LEGAL,
  forms: ['c'],
  // rows of at least 32 elements reduced 8 rows at a time (schedule/row-interleave.ts)
  defaultSchedules: (prog, overrides) => chooseSchedules(prog, C_CAPS, overrides, { rowInterleave: { rows: 8, minReduce: 32 } }),
  finish(prog) {
    // packed weights index (o*B + i) / B and % B: fold back to the loop variables
    // padded copies made per plane inside the conv (schedule/pad-planes.ts)
    // converting copy loops in vectors (schedule/copy-vectors.ts; blocks sized by the loop's extent: not
    // on the samples of a run-time extent)
    prog.kernels = prog.kernels.map((k) => vectorizeCopies(localizePadPlanes({ ...k, body: simplifyDivMod(k.body) }, prog.schedules.get(k.name)), prog.sampled ? 1 : C_CAPS.vectorLanes));
  },
  render(prog, opts) {
    elideConcats(prog); // a Concat's inputs written in place into its output
    const plan = planMemory(prog);
    return { plan, art: renderC(prog, { version: opts.version, source: opts.source, sourceHash: opts.sourceHash, memory: plan }) };
  },
  emit: (c, form) => (form === 'c' ? c.art.c : ''),
  stats: (c, bytes) => memoryStats(c, bytes, `, ${c.plan.inPlace.size} in-place kernels`)
    + `kernels: ${c.prog.kernels.length}, weights ${bytes(c.art.weights?.length ?? 0)}\n`,
  writeArtifact: (dir, c) => writeCArtifact(dir, c.art),
  async runCompiled(c, feeds, note) {
    const built = buildC(c.art, c.prog);
    note(`built ${built.exe}${built.cached ? ' (cached)' : ` in ${built.compileMs.toFixed(0)} ms`}`);
    return runC(built, c.art, c.prog, feeds);
  },
  runCompiledSync: (c, feeds) => runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs,
};

/** The driver on the C target (kept for callers that want the C artifact directly). */
export function compileC(g: Graph, opts: CompileOptions): CCompiled {
  const c = compileFor(C_TARGET, g, opts);
  return { prog: c.prog, art: c.art, plan: c.plan };
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
