/**
 * aic opt / bisect and the pipeline options shared by opt, run and compile: output files, exit codes,
 * --stats, --print-ir-after, --verify-each=numeric, the ONNX-export guard for fused ops, and bisect
 * finding a deliberately broken pass (registered only here, run in-process).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Node, Tensor, cloneGraph, parseNpy } from '@aic/core';
import { defineOp } from '@aic/ir-spec';
import { definePass } from '@aic/passes';
import { optCommand } from '../packages/cli/src/commands/opt.ts';
import { bisect, bisectCommand } from '../packages/cli/src/commands/bisect.ts';
import { listPassesText, optimize } from '../packages/cli/src/pipeline-options.ts';
import { loadModel } from '../packages/cli/src/model-io.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const AIC = path.join(ROOT, 'bin/aic');
const FIX = path.join(ROOT, 'tests/fixtures/models');
const CNN = `${FIX}/small_cnn.onnx`;

function aic(args: string[]) {
  const r = spawnSync(process.execPath, [AIC, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aic-opt-'));

/** Run an in-process command with stdout captured; AicErrors become their exit code. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; error?: AicError }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array) => { out += String(s); return true; }) as typeof process.stdout.write;
  try {
    return { code: await fn(), out };
  } catch (e) {
    if (e instanceof AicError) return { code: e.exitCode, out, error: e };
    throw e;
  } finally {
    process.stdout.write = write;
  }
}

// --- test-only op and passes ----------------------------------------------------------------------

/** A stand-in for a fused op: domain 'aic', no ONNX mapping (computes Relu). */
defineOp({
  name: 'TestOnlyFusedRelu', domain: 'aic', category: 'fused', summary: 'test-only: Relu in the aic domain',
  inputs: [{ name: 'X' }], outputs: [{ name: 'Y' }], attrs: {},
  infer: (ctx) => [{ dtype: ctx.type(0).dtype, shape: ctx.type(0).shape }],
  eval: (ctx) => {
    const x = ctx.input(0);
    const y = new Tensor(x.dtype, x.shape);
    for (let i = 0; i < x.size; i++) y.num[i] = Math.max(0, x.num[i]);
    return [y];
  },
});

/** test-fuse-relu: Relu -> aic.TestOnlyFusedRelu (a correct rewrite whose result is not ONNX). */
definePass({
  name: 'test-fuse-relu', summary: 'test only', options: {}, statistics: ['rewritten'],
  run(g0, ctx) {
    const g = cloneGraph(g0);
    let n = 0;
    g.nodes = g.nodes.map((nd) => {
      if (nd.op !== 'Relu' || nd.domain !== '') return nd;
      n++;
      return new Node({ op: 'TestOnlyFusedRelu', domain: 'aic', name: nd.name, inputs: nd.inputs, outputs: nd.outputs, loc: nd.loc });
    });
    ctx.stats.rewritten = n;
    g.opsets = { ...g.opsets, aic: 1 };
    return g;
  },
});

/** test-break: negates the first float constant with more than one element (a wrong "optimization"). */
definePass({
  name: 'test-break', summary: 'test only: negates a constant', options: {}, statistics: [],
  run(g0) {
    const g = cloneGraph(g0);
    const c = g.constants.find((v) => v.const && v.dtype === 'float32' && v.const.size > 1);
    if (c) {
      const t = new Tensor('float32', c.const!.shape);
      for (let i = 0; i < t.size; i++) t.num[i] = -c.const!.num[i];
      c.const = t;
    }
    return g;
  },
});

// --- tests ----------------------------------------------------------------------------------------

describe('aic opt', () => {
  it('writes .aic + .bin that aic inspect reads back, with the node count it reported', () => {
    const dir = tmp();
    const out = path.join(dir, 'cnn.aic');
    const r = aic(['opt', CNN, '-o', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/with -O2: 13 -> \d+ nodes/);
    expect(fs.existsSync(path.join(dir, 'cnn.bin'))).toBe(true);
    const after = Number(/-> (\d+) nodes/.exec(r.out)![1]);
    const i = aic(['inspect', out, '--json']);
    expect(i.code).toBe(0);
    expect(JSON.parse(i.out).nodes).toBe(after);
    expect(JSON.parse(i.out).outputs[0].name).toBe('output');
  });

  it('the optimized .aic (-O2, -O3) still computes the PyTorch output, or -O3 refuses to write layouts the DSL cannot express', async () => {
    const { run } = await import('@aic/interp');
    const x = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.input.npy`)));
    const want = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.output.npy`)));
    for (const level of ['2', '3']) {
      const dir = tmp();
      const out = path.join(dir, 'cnn.aic');
      const r = await capture(() => optCommand(CNN, { optLevel: level, output: out }));
      if (level === '3' && r.code === 3) {
        // values in NC4HW4 / packed-weight layouts: the DSL printer does not write layouts yet
        expect(r.error!.message).toMatch(/physical layouts .* that the DSL cannot express yet/);
        expect(fs.readdirSync(dir)).toEqual([]);
        continue;
      }
      expect(r.code, r.error?.message).toBe(0);
      const g = await loadModel(out);
      const got = run(g, { input: x }).get('output') as Tensor;
      for (let k = 0; k < want.size; k++) expect(Math.abs(got.num[k] - want.num[k]), `-O${level} [${k}]`).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(want.num[k]));
    }
  });

  it('-o .onnx with fused (aic-domain) ops: exit 3 naming the ops, suggesting .aic, nothing written', async () => {
    const dir = tmp();
    const r = await capture(() => optCommand(CNN, { pipeline: 'test-fuse-relu', output: path.join(dir, 'cnn.onnx') }));
    expect(r.code).toBe(3);
    expect(r.error!.message).toMatch(/aic::TestOnlyFusedRelu \(3 nodes: '\/f\/f\.2\/Relu'/);
    expect(r.error!.message).toMatch(/-o .*cnn\.aic/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('--pipeline with an unknown pass: exit 2 listing the passes', () => {
    const r = aic(['opt', CNN, '--pipeline', 'fold-constants,no-such-pass', '-o', path.join(tmp(), 'x.aic')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown pass 'no-such-pass'; passes: .*eliminate-dead-nodes.*fold-constants/);
  });

  it('--pipeline with a boolean option that is not true or false: exit 2 (a typo does not turn it off)', () => {
    const dir = tmp();
    const r = aic(['opt', CNN, '--pipeline', 'fuse{for-nc4hw4=true skip=silu-epilogue}', '-o', path.join(dir, 'x.aic')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/pass 'fuse' option 'for-nc4hw4' is true or false, not 'true skip' \(options are separated by ','\)/);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(aic(['opt', CNN, '--pipeline', 'fuse{for-nc4hw4=0,skip=silu-epilogue}', '-o', path.join(dir, 'x.aic')]).code).toBe(0);
  });

  it('-O and --pipeline together: exit 2, nothing written', () => {
    const dir = tmp();
    const r = aic(['opt', CNN, '-O1', '--pipeline', 'fold-constants', '-o', path.join(dir, 'x.aic')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/-O and --pipeline are mutually exclusive/);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(aic(['run', CNN, '-O', '7', '--input', `${FIX}/small_cnn.input.npy`, '--output-dir', dir]).code).toBe(2);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('--stats (time, nodes before/after, counters per pass) and --print-ir-after go to stderr', () => {
    const r = aic(['opt', CNN, '--stats', '--print-ir-after', 'fold-constants', '--verify-each', '-o', path.join(tmp(), 'x.aic')]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/statistics \(-O2\):/);
    expect(r.err).toMatch(/pass +ms +nodes -> after +counters/);
    // non-zero counters by name, the zero ones counted
    expect(r.err).toMatch(/\n  fold-constants +\d+\.\d+ +13 -> \d+ +(nodes-folded=\d+|\(all 2 at 0\))/);
    expect(r.err).toMatch(/\n  eliminate-dead-nodes +\d+\.\d+ +\d+ -> \d+ +(nodes-removed=\d+|constants-removed=\d+|\(all 2 at 0\))/);
    expect(r.err).toMatch(/\n  total +\d+\.\d+ +13 -> \d+\n/);
    // fold-constants runs twice in -O2: printed after each run
    expect(r.err.match(/\/\/ ----- IR after fold-constants -----\nopset ai\.onnx 13\n(opset .*\n)*graph torch_jit\(input: f32\[1, 1, 28, 28\]\)/g)).toHaveLength(2);
    expect(r.err).toMatch(/weights\("<not written>", offset = \d+\)/);
    expect(r.out).not.toMatch(/IR after/);
  });

  it('--verify-each=numeric passes on small_cnn: opt -O2, run -O3 (whose output still matches PyTorch)', () => {
    const r = aic(['opt', CNN, '-O2', '--verify-each=numeric', '-o', path.join(tmp(), 'x.aic')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const dir = tmp();
    const r3 = aic(['run', CNN, '-O3', '--verify-each=numeric', '--input', `${FIX}/small_cnn.input.npy`, '--output-dir', dir]);
    expect(r3.err).toBe('');
    expect(r3.code).toBe(0);
    const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, 'output.npy'))));
    const want = parseNpy(new Uint8Array(fs.readFileSync(`${FIX}/small_cnn.output.npy`)));
    for (let k = 0; k < want.size; k++) expect(Math.abs(got.num[k] - want.num[k])).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(want.num[k]));
  });

  it('--verify-each=numeric names the pass and the first node that changes the results', async () => {
    const g = await loadModel(CNN);
    const err: string[] = [];
    let e: unknown;
    try { optimize(g, { pipeline: 'fold-constants,test-break,eliminate-dead-nodes', verifyEach: 'numeric' }, 2, (s) => err.push(s)); } catch (x) { e = x; }
    expect(e).toBeInstanceOf(AicError);
    expect((e as AicError).exitCode).toBe(1);
    expect((e as AicError).message).toMatch(/pass 'test-break' changed the results: output 'output' .*produced by node '\/f\/f\.0\/Conv' \(Conv\)/);
  });

  it('--explain reports every candidate (or that none was considered); --list-passes lists passes and pipelines', async () => {
    const g = await loadModel(CNN);
    const err: string[] = [];
    const r = optimize(g, { optLevel: 2, explain: true }, 2, (s) => err.push(s));
    const text = err.join('');
    for (const x of r.explained) expect(text).toContain(`[${x.pass}] ${x.rule} at node '${x.node}': ${x.outcome}`);
    expect(text).toMatch(/explain: (\d+ candidates considered: \d+ applied, \d+ rejected|no fusion\/rewrite candidates were considered by -O2)/);
    const list = listPassesText();
    expect(list).toMatch(/fold-constants +evaluate/);
    expect(list).toMatch(/-O2 \(default\): fuse-qdq,fold-constants,/);
  });
});

describe('aic bisect', () => {
  it('finds no breaking pass in -O2 on small_cnn with its real input (exit 0)', async () => {
    const r = await capture(() => bisectCommand(CNN, { optLevel: '2', input: [`input=${FIX}/small_cnn.input.npy`] }));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no pass changes the results/);
    expect(r.out).toMatch(/inputs: input=.*small_cnn\.input\.npy/);
  });

  it('names the deliberately broken pass and the first differing node (exit 1)', async () => {
    const lines: string[] = [];
    const res = await bisect(CNN, { pipeline: 'fold-constants,eliminate-common-subexpressions,test-break,eliminate-dead-nodes', out: (s) => lines.push(s) });
    expect(res.failing?.pass).toBe('test-break');
    expect(res.failing?.index).toBe(2);
    expect(res.failing?.node).toMatch(/produced by node '\/f\/f\.0\/Conv' \(Conv\)/);
    const text = lines.join('');
    expect(text).toMatch(/ok +1 fold-constants/);
    expect(text).toMatch(/FAIL pass 3\/4 'test-break' changes the results: output 'output'/);
    expect(text).toMatch(/seeded random \(seed 1\) for input/);
    const code = (await capture(() => bisectCommand(CNN, { pipeline: 'test-break' }))).code;
    expect(code).toBe(1);
  });

  it('bisect through the CLI: -O with --pipeline is usage (2); a clean pipeline exits 0', () => {
    expect(aic(['bisect', CNN, '-O2', '--pipeline', 'fuse']).code).toBe(2);
    const r = aic(['bisect', CNN, '--pipeline', 'fold-constants,eliminate-dead-nodes']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no pass changes the results/);
  });
});
