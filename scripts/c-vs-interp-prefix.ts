/**
 * Diagnosis aid: compile the -O2 graph of MODEL cut after fused node K (its output, and node K-1's,
 * made the graph outputs) for C and compare every output with the interpreter on INPUT.npy.
 * Bisect over K to find the first node where C and the interpreter part.
 *   npx tsx scripts/c-vs-interp-prefix.ts MODEL INPUT.npy K      (K = -1 lists the fused nodes)
 */
import { exitOnHelp } from './script-help.ts';
exitOnHelp(import.meta.filename);
import * as fs from 'node:fs';
import { parseNpy, type RValue, type Tensor } from '@aic/core';
import { run } from '@aic/interp';
import { C_TARGET, buildC, compileFor, defaultCFlags, passTargetOf, prepareForRun, runC } from '@aic/codegen';
import { pipelineFor, runPipeline } from '@aic/passes';
import { loadModel } from '../packages/cli/src/model-io.ts';

async function main(): Promise<void> {
  const [model, inp, ks] = process.argv.slice(2);
  const g = runPipeline(await loadModel(model!), pipelineFor(2), { target: passTargetOf(C_TARGET), out: () => {} }).graph;
  const k = Number(ks);
  if (k < 0) { g.nodes.forEach((n, i) => console.log(i, n.op, n.outputs.map((o) => o.name).join(' '))); return; }
  (g as unknown as { outputs: unknown[] }).outputs = [...(k > 0 ? [g.nodes[k - 1]!.outputs[0]!] : []), g.nodes[k]!.outputs[0]!];
  g.nodes.splice(k + 1);
  const feeds = new Map<string, RValue>([[g.inputs[0]!.name, parseNpy(new Uint8Array(fs.readFileSync(inp!)))]]);
  prepareForRun(g, feeds);
  const c = compileFor(C_TARGET, g, { version: 'x', source: 'x', sourceHash: '-' });
  const got = runC(buildC(c.art, c.prog, { cflags: defaultCFlags() }), c.art, c.prog, feeds).outputs, want = run(g, feeds);
  for (const v of g.outputs) {
    const a = (got.get(v.name) as Tensor).num, b = (want.get(v.name) as Tensor).num;
    let m = 0, n = 0;
    for (let i = 0; i < b.length; i++) { const d = Math.abs(a[i]! - b[i]!); if (d > 1e-5) n++; m = Math.max(m, d); }
    console.log(`${v.name}: max |d| ${m}, ${n} of ${b.length} differ by > 1e-5`);
  }
}
void main();
