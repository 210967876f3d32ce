/**
 * Every model through the C target (compileC + buildC + runC, as `aic run --target c` does) matches its
 * PyTorch reference (rtol 1e-3, atol 1e-4). buildC compiles with -Wall -Wextra -std=c99
 * -pedantic-errors and treats any warning as an error. The bundled fixtures always run; the larger
 * models run when ../shared/models exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, type RValue } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { buildC, compileC, passTarget, prepareForRun, runC } from '@aic/codegen';
import { optimize } from '../../packages/cli/src/pipeline-options.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/models');
const SHARED = path.resolve(import.meta.dirname, '../../../shared/models');
const BUNDLED = ['small_cnn', 'tiny_bert', 'squeezenet1_1'];
const LARGE = ['mobilenet_v2', 'resnet18', 'shufflenet_v2_x1_0', 'efficientnet_b0'];

function maxError(got: Tensor, want: Tensor, rtol = 1e-3, atol = 1e-4): { ok: boolean; worst: string } {
  let ok = true, worst = 0, at = -1;
  const a = got.num, b = want.num;
  for (let i = 0; i < b.length; i++) {
    const err = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(err <= 0)) ok = false;
    if (err > worst || Number.isNaN(err)) { worst = err; at = i; }
  }
  return { ok, worst: at < 0 ? 'within tolerance' : `[${at}] got ${a[at]} want ${b[at]}` };
}

function checkModel(dir: string, name: string): void {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const g = loadOnnxFile(path.join(dir, meta.model));
  const feeds = new Map<string, RValue>();
  for (const i of meta.inputs) feeds.set(i.name, parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, i.file)))));
  const { graph } = optimize(g, {}, 2, () => {}, passTarget('c'));
  prepareForRun(graph, feeds);
  const compiled = compileC(graph, { version: 'test', source: `${name}.onnx`, sourceHash: '-' });
  const built = buildC(compiled.art, compiled.prog);
  const { outputs } = runC(built, compiled.art, compiled.prog, feeds);
  for (const o of meta.outputs) {
    const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, o.file))));
    const got = outputs.get(o.name) as Tensor;
    expect(got.shape).toEqual(want.shape);
    const r = maxError(got, want);
    expect(r.ok, `${name}/${o.name}: ${r.worst}`).toBe(true);
  }
}

describe('bundled models match PyTorch (C target)', () => {
  for (const m of BUNDLED) it(m, () => checkModel(FIXTURES, m), 600_000);
});

const haveShared = fs.existsSync(SHARED);
if (!haveShared) console.log(`skipped: ${LARGE.join(', ')} (${SHARED} not found)`);
describe.skipIf(!haveShared)('shared models match PyTorch (C target)', () => {
  for (const m of LARGE) it(m, () => checkModel(SHARED, m), 600_000);
});
