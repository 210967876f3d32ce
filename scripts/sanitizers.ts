/**
 * Generated C under AddressSanitizer and UndefinedBehaviorSanitizer: build with SANITIZE_CFLAGS
 * (any report aborts the run), run on the test inputs, compare with the reference outputs.
 * Shared by `npx tsx scripts/sanitize.ts` (the full sweep) and tests/codegen/c-sanitize.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AicError, Tensor, parseNpy, type Graph, type RValue } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { C_CAPS, buildC, compileC, lowerGraph, passTarget, prepareForRun, renderC, runC } from '@aic/codegen';
import { optimize } from '../packages/cli/src/pipeline-options.ts';
import { compareTensors, runNodeTest, type Runner } from './conformance.ts';

export const SANITIZE_CFLAGS = ['-O1', '-g', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'];
/** Leaks count too (the harness and aic_model_free release everything); reports end the run. */
const SAN_ENV = { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=86', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=87' };

export type SanStatus = 'clean' | 'report' | 'wrong' | 'error';
export interface SanResult { name: string; status: SanStatus; detail: string; ms: number }

/** The first sanitizer line of a failed run's output ("runtime error: ...", "ERROR: AddressSanitizer: ..."). */
export function sanitizerReport(output: string): string | undefined {
  const lines = output.split('\n');
  const i = lines.findIndex((l) => /runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer/.test(l));
  if (i < 0) return undefined;
  const frame = lines.slice(i + 1).find((l) => /^\s+#\d+ .* in (k\d+_|aic_)/.test(l));
  return [lines[i].replace(/^==\d+==/, '').trim(), frame?.trim()].filter(Boolean).join(' | ');
}

function withSanEnv<T>(f: () => T): T {
  const saved = Object.fromEntries(Object.keys(SAN_ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, SAN_ENV);
  try {
    return f();
  } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

function classify(e: unknown): { status: SanStatus; detail: string } {
  const out = e instanceof AicError ? `${e.message}\n${e.detail ?? ''}` : String((e as Error)?.stack ?? e);
  const rep = sanitizerReport(out);
  return rep ? { status: 'report', detail: rep } : { status: 'error', detail: out.split('\n')[0] };
}

/** The conformance C runner (same graph cleanup and lowering), built with the sanitizers. */
function sanitizedRunner(errors: unknown[]): Runner {
  return (g0: Graph, feeds) => {
    const g = runPipeline(g0, pipelineFor(1)).graph;
    prepareForRun(g, feeds);
    const prog = lowerGraph(g, C_CAPS);
    const art = renderC(prog, { version: 'test', source: g.name, sourceHash: '-' });
    try {
      return runC(buildC(art, prog, { cflags: SANITIZE_CFLAGS }), art, prog, feeds).outputs as Map<string, RValue>;
    } catch (e) {
      errors.push(e);
      throw e;
    }
  };
}

/** One ONNX node test (see scripts/conformance.ts) under the sanitizers. */
export function sanitizeNodeTest(name: string): SanResult {
  const errors: unknown[] = [];
  const r = withSanEnv(() => runNodeTest(name, sanitizedRunner(errors)));
  if (r.status === 'pass') return { name, status: 'clean', detail: '', ms: r.ms };
  if (errors.length) return { name, ...classify(errors[0]), ms: r.ms };
  return { name, status: r.status === 'wrong' ? 'wrong' : 'error', detail: r.detail, ms: r.ms };
}

/** A zoo model (NAME.json + .onnx + .npy in `dir`) as `aic run --target c` builds it (-O2, default schedules). */
export function sanitizeModel(dir: string, name: string): SanResult {
  const t0 = performance.now();
  const done = (status: SanStatus, detail: string): SanResult => ({ name, status, detail, ms: performance.now() - t0 });
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
    const read = (f: string) => parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, f))));
    const feeds = new Map<string, RValue>(meta.inputs.map((i: { name: string; file: string }) => [i.name, read(i.file)]));
    const { graph } = optimize(loadOnnxFile(path.join(dir, meta.model)), {}, 2, () => {}, passTarget('c'));
    prepareForRun(graph, feeds);
    const c = compileC(graph, { version: 'test', source: `${name}.onnx`, sourceHash: '-' });
    const outs = withSanEnv(() => runC(buildC(c.art, c.prog, { cflags: SANITIZE_CFLAGS }), c.art, c.prog, feeds).outputs);
    for (const o of meta.outputs) {
      const why = compareTensors(outs.get(o.name) as Tensor, read(o.file), 1e-3, 1e-4);
      if (why) return done('wrong', `${o.name}: ${why}`);
    }
    return done('clean', '');
  } catch (e) {
    const c = classify(e);
    return done(c.status, c.detail);
  }
}

/** Node tests the C target passes (tests/conformance/c.expected.json). */
export function cPassingNodeTests(): string[] {
  const file = path.resolve(import.meta.dirname, '../tests/conformance/c.expected.json');
  const expected = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  return Object.keys(expected).filter((k) => expected[k] === 'pass').sort();
}
