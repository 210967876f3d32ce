/**
 * The ONNX backend test sweeps (Debian libonnx-testdata: the node, pytorch-converted and
 * pytorch-operator sets). Shared by the vitest conformance tests and `npm run conformance`. Each test
 * is classified pass / wrong / unsupported (a clean exit-3 diagnostic) / error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AicError, Tensor, bf16ToFloat, type Graph, type RValue } from '@aic/core';
import { decodeValueFile, loadOnnxFile } from '@aic/onnx';
import { ALL_TARGETS, INTERP_TARGET, runSyncOn, type Target, type Tolerance } from '@aic/codegen';
import { computeKernels, onLowered } from '@aic/codegen';
import { pipelineFor, runPipeline } from '@aic/passes';
import { validateGraph } from '@aic/ir-spec';

export const NODE_TEST_DIR = process.env.AIC_NODE_TESTS ?? '/usr/share/libonnx-testdata/data/node';
const TEST_DATA = process.env.AIC_ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data';
/** The test sets: the node tests, and whole small models exported from PyTorch modules and operators. */
export const SETS: Record<string, string> = {
  node: NODE_TEST_DIR,
  'pytorch-converted': path.join(TEST_DATA, 'pytorch-converted'),
  'pytorch-operator': path.join(TEST_DATA, 'pytorch-operator'),
};
/** The checked-in expected statuses of a set on a target (the node set keeps its historical name). */
export function expectedFile(set: string, target: string): string {
  return `tests/conformance/${set === 'node' ? '' : `${set}.`}${target}.expected.json`;
}
export type Status = 'pass' | 'wrong' | 'unsupported' | 'error' | 'excluded';

/** Tests whose reference data contradicts their own model; reported, never run. */
export const KNOWN_BAD: Record<string, string> = {
  test_adam_multiple: 'expected outputs were computed with epsilon=1e-2 but the node omits epsilon (spec default 1e-6); test_adam, which sets it, passes',
};
export interface Result {
  name: string; status: Status; detail: string; ms: number;
  /**
   * compiled targets: the program had no compute kernel; 'constant' when the outputs are constants of
   * the model itself, 'data' when the model's data work was done at compile time (never allowed)
   */
  noKernel?: 'constant' | 'data';
}

export function listNodeTests(dir = NODE_TEST_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'model.onnx'))).sort();
}

/** Runner: how a target executes a loaded graph on inputs. The interpreter is the default. */
export type Runner = (g: Graph, feeds: Map<string, RValue>) => Map<string, RValue>;

/** Float tolerance per runner: the target's own (codegen/targets.ts). */
export const TOLERANCE = new Map<Runner, Tolerance>();

/** A target's conformance runner: the one driver (codegen/driver.ts runSyncOn). */
export function runnerOf(t: Target): Runner {
  const r: Runner = (g, feeds) => runSyncOn(t, g, feeds);
  TOLERANCE.set(r, t.tolerance);
  return r;
}

/** Every registered target that can run synchronously, by name. */
export const RUNNERS: Record<string, Runner> = Object.fromEntries(
  ALL_TARGETS.filter((t) => t.runGraph || t.runCompiledSync).map((t) => [t.name, runnerOf(t)]),
);
/** The reference interpreter (the default runner). */
export const interpRunner: Runner = RUNNERS.interp;

export function runNodeTest(name: string, runner: Runner = interpRunner, dir = NODE_TEST_DIR): Result {
  const tol = TOLERANCE.get(runner) ?? INTERP_TARGET.tolerance;
  const t0 = performance.now();
  const base = path.join(dir, name);
  let kernels: number | undefined;
  let g0: Graph | undefined;
  const done = (status: Status, detail: string): Result => {
    const r: Result = { name, status, detail, ms: performance.now() - t0 };
    if (kernels === 0 && g0) r.noKernel = constantOutputs(g0) ? 'constant' : 'data';
    return r;
  };
  if (KNOWN_BAD[name]) return done('excluded', KNOWN_BAD[name]);
  const stop = onLowered((p) => { kernels = computeKernels(p); });
  try {
    const g = loadOnnxFile(path.join(base, 'model.onnx'));
    g0 = g;
    validateGraph(g); // every runner refuses exactly what the interpreter refuses, before any pass runs
    const ds = path.join(base, 'test_data_set_0');
    const feeds = new Map<string, RValue>();
    g.inputs.forEach((v, i) => {
      const f = path.join(ds, `input_${i}.pb`);
      if (fs.existsSync(f)) feeds.set(v.name, asDeclared(decodeValueFile(fs.readFileSync(f), v.kind), v.dtype));
      else feeds.set(v.name, null);
    });
    const outs = runner(g, feeds);
    for (let i = 0; i < g.outputs.length; i++) {
      const v = g.outputs[i];
      const f = path.join(ds, `output_${i}.pb`);
      if (!fs.existsSync(f)) continue;
      const want = asDeclared(decodeValueFile(fs.readFileSync(f), v.kind), v.dtype);
      const got = outs.get(v.name);
      const why = compareValues(got ?? null, want, tol.rtol, tol.atol);
      if (why) return done('wrong', `output '${v.name}': ${why}`);
    }
    return done('pass', '');
  } catch (e) {
    if (e instanceof AicError) return done(e.exitCode === 3 ? 'unsupported' : 'error', e.format());
    return done('error', `crash: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
  } finally {
    stop();
  }
}

/** Are the graph's outputs constants of the model itself (known with no input given)? */
function constantOutputs(g: Graph): boolean {
  try {
    return runPipeline(g, pipelineFor(1)).graph.outputs.every((v) => !!v.const);
  } catch {
    return false;
  }
}

/** Older ONNX test data stores bfloat16 tensors as uint16 bit patterns: reinterpret them. */
function asDeclared(x: RValue, dtype: string): RValue {
  if (x instanceof Tensor && dtype === 'bfloat16' && x.dtype === 'uint16') {
    return Tensor.fromNumbers('bfloat16', x.shape, Array.from(x.num, (b) => bf16ToFloat(b)));
  }
  return x;
}

export function compareValues(got: RValue, want: RValue, rtol = 1e-3, atol = 1e-5): string | undefined {
  if (want === null) return got === null ? undefined : 'expected an empty optional';
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return 'expected a sequence';
    if (got.length !== want.length) return `sequence length ${got.length} != ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const w = compareTensors(got[i], want[i], rtol, atol);
      if (w) return `[${i}] ${w}`;
    }
    return undefined;
  }
  if (!(got instanceof Tensor)) return 'expected a tensor';
  return compareTensors(got, want, rtol, atol);
}

export function compareTensors(got: Tensor, want: Tensor, rtol = 1e-3, atol = 1e-5): string | undefined {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype} != ${want.dtype}`;
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return `shape [${got.shape.join(', ')}] != [${want.shape.join(', ')}]`;
  }
  if (want.dtype === 'string') {
    const a = got.data as string[], b = want.data as string[];
    for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return `[${i}] '${a[i]}' != '${b[i]}'`;
    return undefined;
  }
  const a = got.num, b = want.num;
  const float = want.dtype.startsWith('float') || want.dtype === 'bfloat16';
  const rt = want.dtype === 'float16' || want.dtype === 'bfloat16' ? Math.max(rtol, 1e-2) : rtol;
  for (let i = 0; i < b.length; i++) {
    const x = a[i], y = b[i];
    if (float) {
      if (Number.isNaN(y)) { if (!Number.isNaN(x)) return `[${i}] ${x} != NaN`; continue; }
      if (x === y) continue;
      if (!(Math.abs(x - y) <= atol + rt * Math.abs(y))) return `[${i}] ${x} != ${y}`;
    } else if (x !== y) return `[${i}] ${x} != ${y}`;
  }
  return undefined;
}

export function summarize(results: Result[]): string {
  const c = { pass: 0, wrong: 0, unsupported: 0, error: 0, excluded: 0 };
  for (const r of results) c[r.status]++;
  const none = results.filter((r) => r.status === 'pass' && r.noKernel);
  const data = none.filter((r) => r.noKernel === 'data');
  const kernels = none.length ? `; ${none.length} passed with no compute kernel (${none.length - data.length} with outputs constant in the model, `
    + `${data.length} computed at compile time${data.length ? `: ${data.map((r) => r.name).join(', ')}` : ''})` : '';
  return `${c.pass} passed, ${c.wrong} wrong, ${c.unsupported} unsupported, ${c.error} errors, ${c.excluded} excluded (bad reference data) of ${results.length}${kernels}`;
}
