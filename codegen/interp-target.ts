/**
 * The two interpreters as targets: `interp` (the reference interpreter over the graph, ir-spec
 * semantics) and `loops` (the loop-IR interpreter over the lowered, unscheduled program: checks
 * lowering without a compiler; conformance and tests only).
 */
import { runGraph, run } from '@aic/interp';
import { verifyKernel } from '@aic/loop-ir';
import { LOOPS_CAPS } from './caps.ts';
import { planMemory } from './memory/plan.ts';
import { runProgram } from './lower/run-program.ts';
import type { Program } from './lower/program.ts';
import { CPU_TOLERANCE, type Target } from './target.ts';

export const INTERP_TARGET: Target = {
  name: 'interp',
  summary: 'reference interpreter (ir-spec semantics, TypeScript)',
  compile: false,
  run: true,
  needsStaticShapes: false,
  listed: true,
  dtypes: 'all',
  tolerance: CPU_TOLERANCE,
  forms: [],
  runGraph(g, feeds, { strict }) {
    if (strict) return run(g, feeds);
    // fed positionally: some test data sets disagree with the shapes their models declare for
    // inputs whose values are never read (CastLike's `like`), so declared shapes are not enforced
    const outs = runGraph(g, g.inputs.map((v) => feeds.get(v.name) ?? null));
    return new Map(g.outputs.map((v, i) => [v.name, outs[i]]));
  },
};

export const LOOPS_TARGET: Target<Program> = {
  name: 'loops',
  summary: 'loop-IR interpreter over the lowered program (checks lowering without a compiler)',
  compile: false,
  run: false,
  needsStaticShapes: true,
  listed: false,
  caps: LOOPS_CAPS,
  dtypes: LOOPS_CAPS.dtypes,
  tolerance: CPU_TOLERANCE,
  forms: [],
  render(prog) {
    for (const k of prog.kernels) verifyKernel(k); // the loop-IR verifier checks every lowering
    return { plan: planMemory(prog), art: prog };
  },
  runCompiledSync: (c, feeds) => runProgram(c.prog, feeds),
};
