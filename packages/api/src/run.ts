/**
 * Running a graph on a target: the reference interpreter, or a compiled target (C built with the
 * system cc, WebAssembly in this process, WGSL through WebGPU). The graph runs as given (optimize it
 * first for speed); every target checks the feeds as the interpreter does.
 */
import * as path from 'node:path';
import { Tensor, cloneGraph, diag, type Graph, type RValue } from '@aic/core';
import { checkFeed } from '@aic/interp';
import { validateGraph } from '@aic/ir-spec';
import { describeShapeInput, runOn, type RunOnOptions } from '@aic/codegen';
import { runTargetOrThrow, withWgslLimits } from './targets.ts';
import { VERSION } from './compile.ts';

export interface RunGraphOptions {
  target?: string;
  /** the model's file name, recorded in compiled artifacts */
  source?: string;
  onNote?: (msg: string) => void;
  /** schedules for the graph as compiled (shape inputs bound), e.g. from tuning logs; compiled targets only */
  schedules?: RunOnOptions['schedules'];
  /** target wgsl: the device limits to compile for (default: WebGPU's guaranteed ones) */
  wgslLimits?: Record<string, number>;
}

export async function runGraph(g: Graph, feeds: Map<string, RValue>, opts: RunGraphOptions = {}): Promise<{ outputs: Map<string, RValue>; ms: number; nodes: number }> {
  const name = opts.target ?? 'interp';
  const t = withWgslLimits(runTargetOrThrow(name), opts.wgslLimits);
  const note = opts.onNote ?? (() => {});
  validateGraph(g);
  for (const v of g.inputs) {
    const x = feeds.get(v.name);
    if (x === undefined) throw diag.missingInput(v.name);
    // compiled kernels trust their buffer sizes: every target gets the interpreter's feed checks
    if (x instanceof Tensor) checkFeed(v, x);
  }
  const pg = cloneGraph(g); // prepareForRun binds shape-deciding inputs as constants: not in the caller's graph
  // the one driver (codegen/driver.ts): bind shape inputs, compile, build and run on the target
  try {
    const r = await runOn(t, pg, feeds, { version: VERSION, source: path.basename(opts.source ?? g.name), note, onBind: (s) => note(describeShapeInput(s)), schedules: opts.schedules });
    // nodes that ran: compiled targets fold the shape arithmetic of bound inputs first (prepareForRun)
    return { ...r, nodes: pg.nodes.length };
  } finally {
    t.close?.();
  }
}
