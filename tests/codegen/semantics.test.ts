/**
 * One semantics on every target: the same tiny models (integer Div/Mod by zero and MIN / -1, index
 * ops with negative and out-of-range indices, Cast of out-of-range floats, NaN and ±Inf (saturates) and int -> int (wraps)) run on the reference interpreter, the loop-IR
 * interpreter, C, WebAssembly (SIMD and plain) and WGSL give the same values, or fail with the same
 * catalog diagnostic (AIC0030 at the node, exit 1), as ONNX Runtime fails. WGSL runs on SwiftShader
 * without a GPU and skips (with the reason) only when no WebGPU adapter can be created.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AicError, Tensor, serializeNpy, type DType, type Graph, type RValue } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { closeWgsl, getTarget, passTargetOf, runOn as runOnTarget, wgslAdapter } from '@aic/codegen';
import { buildModel, type IoSpec, type NodeSpec } from '../onnx-builder.ts';

const INT32 = 6, INT64 = 7, FLOAT = 1, UINT8 = 2, INT8 = 3, INT16 = 5, UINT32 = 12, UINT64 = 13, BOOL = 9;
const MIN32 = -(2 ** 31);
const TARGETS = ['interp', 'loops', 'c', 'wasm-simd', 'wasm', 'wgsl'] as const;
type Target = typeof TARGETS[number];

let wgslSkip: string | undefined;
beforeAll(async () => {
  try {
    await wgslAdapter();
  } catch (e) {
    wgslSkip = `SKIPPED wgsl: the webgpu package could not create a WebGPU adapter: ${(e as Error).message}`;
    console.warn(wgslSkip);
  }
}, 120_000);
afterAll(() => closeWgsl());

type Result = { outs: Map<string, Tensor> } | { error: string; exit: number };

/** Every target through the registry and the one driver (codegen/driver.ts), as `aic run` reaches it. */
async function runOn(t: Target, bytes: Uint8Array, feeds: Map<string, RValue>): Promise<Result> {
  try {
    const target = getTarget(t)!;
    const g: Graph = runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTargetOf(target), out: () => {} }).graph;
    const { outputs } = await runOnTarget(target, g, feeds, { version: 'test', source: 'semantics' });
    return { outs: outputs as Map<string, Tensor> };
  } catch (e) {
    if (!(e instanceof AicError)) throw e;
    return { error: e.format(), exit: e.exitCode };
  }
}

const DT: Record<number, DType> = { [INT32]: 'int32', [INT64]: 'int64', [FLOAT]: 'float32', [UINT8]: 'uint8', [INT8]: 'int8', [INT16]: 'int16', [UINT32]: 'uint32', [UINT64]: 'uint64', [BOOL]: 'bool' };
interface Case {
  name: string;
  nodes: NodeSpec[];
  inputs: (IoSpec & { values: number[] })[];
  outputs: IoSpec[];
  /** the values every target must give, or the error text every target must report */
  want: Record<string, number[]> | { error: string };
  /** WGSL computes int64 as int32 and refuses inputs that do not fit (its documented limit) */
  wgsl?: Case['want'];
  /** float initializers (constant operands the compiled kernels see as constants) */
  init?: { name: string; dims: number[]; floats: number[] }[];
  /** compare zeros without their sign (min / max of -0 and +0 is either, as WGSL and C's legalized select give) */
  anyZeroSign?: boolean;
}
const io = (name: string, dtype: number, shape: number[], values: number[] = []) => ({ name, dtype, shape, values });

const div = (a: number[], b: number[], dtype = INT32): Pick<Case, 'nodes' | 'inputs' | 'outputs'> => ({
  nodes: [{ op: 'Div', inputs: ['a', 'b'], outputs: ['y'], name: 'the_div' }],
  inputs: [io('a', dtype, [a.length], a), io('b', dtype, [b.length], b)], outputs: [io('y', dtype, [a.length])],
});
const mod = (a: number[], b: number[], fmod: number): Pick<Case, 'nodes' | 'inputs' | 'outputs'> => ({
  nodes: [{ op: 'Mod', inputs: ['a', 'b'], outputs: ['y'], name: 'the_mod', attrs: { fmod } }],
  inputs: [io('a', INT32, [a.length], a), io('b', INT32, [b.length], b)], outputs: [io('y', INT32, [a.length])],
});
const cast = (from: number, to: number, x: number[]): Pick<Case, 'nodes' | 'inputs' | 'outputs'> => ({
  nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attrs: { to } }],
  inputs: [io('x', from, [x.length], x)], outputs: [io('y', to, [x.length])],
});
const INF = Infinity;
const unary = (op: string, x: number[], more: string[] = []): Pick<Case, 'nodes' | 'inputs' | 'outputs'> => ({
  nodes: [{ op, inputs: ['x', ...more], outputs: ['y'] }],
  inputs: [io('x', FLOAT, [x.length], x)], outputs: [io('y', FLOAT, [x.length])],
});
const f32 = (name: string, v: number) => ({ name, dims: [], floats: [v] });
const SPECIAL40 = Array.from({ length: 42 }, (_, i) => [NaN, -0, 0, -1.5, 7.25, 3, Infinity, -Infinity, 0.5, -0.25, 6][i % 11]!);
/** 40 values (vector loops and a scalar tail) around the int32 limits, with NaN and infinities */
const LONG32 = Array.from({ length: 40 }, (_, i) => [-2.5, 3e9, -3e9, NaN, Infinity, -Infinity, 2147483520, -2147483648, 7.9 + i, -7.9][i % 10]!);
const LONG = Array.from({ length: 37 }, (_, i) => [NaN, INF, -INF, 40000.5, -40000.5, -0.75, 12.5][i % 7]! * (i % 3 === 0 ? 1 : -1));
/** 40 int32 values: wrapping and float rounding cases (2^24 + 1 and 2^24 + 3 are not floats) */
const INTS40 = Array.from({ length: 40 }, (_, i) => [300, -129, 128, 255, -1, MIN32, 2147483647, 16777217, -16777219, 7 - i][i % 10]!);
const U8_37 = Array.from({ length: 37 }, (_, i) => (i * 71) % 256);
const DATA = [10, 11, 12, 20, 21, 22, 30, 31, 32]; // [3, 3]
const gather = (ind: number[], dtype = INT64, axis = 0): Pick<Case, 'nodes' | 'inputs' | 'outputs'> => ({
  nodes: [{ op: 'Gather', inputs: ['x', 'i'], outputs: ['y'], name: 'the_gather', attrs: { axis } }],
  inputs: [io('x', FLOAT, [3, 3], DATA), io('i', dtype, [ind.length], ind)],
  outputs: [io('y', FLOAT, axis === 0 ? [ind.length, 3] : [3, ind.length])],
});
/** the reference's diagnostic: AIC0030 at the node (buildModel's graph has no file: `<model>`) */
const fails = (op: string, node: string, msg: string, index = 0) => ({ error: `<model>, node '${node}' (#${index}): error AIC0030: ${op} failed: ${msg}` });
const oob = (op: string, node: string, i: number, n: number) => fails(op, node, `index ${i} is out of bounds for a dimension of size ${n}`);

const CASES: Case[] = [
  // float -> int saturates (NaN -> 0, clamp, truncate), int -> int wraps, -> bool is != 0
  { name: 'Cast float -> uint8 saturates', ...cast(FLOAT, UINT8, [-1.5, 0, 2.75, 300, NaN, INF, -INF, 255.9]), want: { y: [0, 0, 2, 255, 0, 255, 0, 255] } },
  {
    // long enough for the vector loops (C vector helpers, SIMD lanes) and their scalar tails
    name: 'Cast float -> int16 saturates, vectorized', ...cast(FLOAT, INT16, LONG),
    want: { y: LONG.map((v) => (Number.isNaN(v) ? 0 : Math.max(-32768, Math.min(32767, Math.trunc(v))) + 0)) },
  },
  { name: 'Cast float -> int8 saturates', ...cast(FLOAT, INT8, [-1.5, -128.9, -300, 127.5, 300, NaN, INF, -INF]), want: { y: [-1, -128, -128, 127, 127, 0, 127, -128] } },
  {
    name: 'Cast float -> int32 saturates', ...cast(FLOAT, INT32, [-2.5, 3e9, -3e9, NaN, INF, -INF, 2147483520]),
    want: { y: [-2, 2147483647, MIN32, 0, 2147483647, MIN32, 2147483520] },
  },
  {
    name: 'Cast float -> int32 saturates, vectorized', ...cast(FLOAT, INT32, LONG32),
    want: { y: LONG32.map((v) => (Number.isNaN(v) ? 0 : v >= 2147483648 ? 2147483647 : v < -2147483648 ? MIN32 : Math.trunc(v) + 0)) },
  },
  { name: 'Cast float -> uint32 saturates', ...cast(FLOAT, UINT32, [-1, 5e9, 4294967040, NaN, INF, 3.9]), want: { y: [0, 4294967295, 4294967040, 0, 4294967295, 3] } },
  {
    // INT64_MAX reads back as the double 2^63; WGSL computes int64 as int32 and saturates to its range
    name: 'Cast float -> int64 saturates', ...cast(FLOAT, INT64, [-2.5, 1e10, NaN, INF, -INF]), want: { y: [-2, 1e10, 0, 2 ** 63, -(2 ** 63)] },
    wgsl: { y: [-2, 2147483647, 0, 2147483647, MIN32] },
  },
  { name: 'Cast int32 -> int8 wraps', ...cast(INT32, INT8, [300, -129, 128, 255, -1]), want: { y: [44, 127, -128, -1, -1] } },
  // vectorized integer casts (C: __builtin_convertvector, as the scalar cast lane by lane)
  { name: 'Cast int32 -> int8 wraps, vectorized', ...cast(INT32, INT8, INTS40), want: { y: INTS40.map((v) => ((((v % 256) + 256 + 128) % 256) - 128)) } },
  { name: 'Cast int32 -> float rounds to nearest even, vectorized', ...cast(INT32, FLOAT, INTS40), want: { y: INTS40.map((v) => Math.fround(v)) } },
  { name: 'Cast uint8 -> float, vectorized', ...cast(UINT8, FLOAT, U8_37), want: { y: U8_37 } },
  { name: 'Cast int32 -> uint32 wraps', ...cast(INT32, UINT32, [-1, MIN32, 7]), want: { y: [4294967295, 2 ** 31, 7] } },
  { name: 'Cast int64 -> uint64 wraps', ...cast(INT64, UINT64, [-1, 5]), want: { y: [2 ** 64, 5] }, wgsl: { y: [4294967295, 5] } },
  { name: 'Cast float -> bool: nonzero (NaN too) is true', ...cast(FLOAT, BOOL, [0, -0, NaN, 0.5, -INF]), want: { y: [0, 0, 1, 1, 1] } },
  // max / min against a constant bound: NaN propagates (wasm-simd: pmax / pmin with the value first), in
  // vector loops (40 values) and their scalar tail
  { name: 'Relu: NaN stays NaN', ...unary('Relu', SPECIAL40), anyZeroSign: true, want: { y: SPECIAL40.map((v) => (Number.isNaN(v) ? NaN : Math.max(v, 0))) } },
  {
    name: 'Clip(x, 0, 6): NaN stays NaN', ...unary('Clip', SPECIAL40, ['lo', 'hi']), anyZeroSign: true, init: [f32('lo', 0), f32('hi', 6)],
    want: { y: SPECIAL40.map((v) => (Number.isNaN(v) ? NaN : Math.min(Math.max(v, 0), 6))) },
  },
  {
    name: 'Clip(x, -1, 0): NaN stays NaN', ...unary('Clip', SPECIAL40, ['lo', 'hi']), anyZeroSign: true, init: [f32('lo', -1), f32('hi', 0)],
    want: { y: SPECIAL40.map((v) => (Number.isNaN(v) ? NaN : Math.min(Math.max(v, -1), 0))) },
  },
  {
    name: 'Clip(x, -0, 2): a -0 bound', ...unary('Clip', SPECIAL40, ['lo', 'hi']), anyZeroSign: true, init: [f32('lo', -0), f32('hi', 2)],
    want: { y: SPECIAL40.map((v) => (Number.isNaN(v) ? NaN : Math.min(Math.max(v, -0), 2))) },
  },
  { name: 'Div int32: truncation, MIN / -1 wraps', ...div([7, -7, MIN32, 9, 0], [2, 2, -1, -4, 5]), want: { y: [3, -3, MIN32, -2, 0] } },
  { name: 'Div int32 by zero is an error', ...div([7, 1, 2], [2, 0, 1]), want: fails('Div', 'the_div', 'integer division by zero') },
  { name: 'Div int64 by zero is an error', ...div([7, 1], [0, 1], INT64), want: fails('Div', 'the_div', 'integer division by zero') },
  {
    // the safe-division idiom: Div runs on every element before Where picks (ONNX Runtime raises), fused or not
    name: 'Where(b == 0, a, a / b) int32 still divides by zero',
    nodes: [
      { op: 'Equal', inputs: ['b', 'z'], outputs: ['c'] }, { op: 'Div', inputs: ['a', 'b'], outputs: ['q'], name: 'the_div' },
      { op: 'Where', inputs: ['c', 'a', 'q'], outputs: ['y'] },
    ],
    inputs: [io('a', INT32, [3], [7, 8, 9]), io('b', INT32, [3], [2, 0, 3]), io('z', INT32, [1], [0])], outputs: [io('y', INT32, [3])],
    want: fails('Div', 'the_div', 'integer division by zero', 1),
  },
  { name: 'Div float by zero is IEEE', ...div([1, -1, 0], [0, 0, 2], FLOAT), want: { y: [Infinity, -Infinity, 0] } },
  { name: 'Mod fmod=0: sign of the divisor, MIN % -1 = 0', ...mod([7, -7, 7, MIN32], [3, 3, -3, -1], 0), want: { y: [1, 2, -2, 0] } },
  { name: 'Mod fmod=1: sign of the dividend', ...mod([7, -7, 7, MIN32], [3, 3, -3, -1], 1), want: { y: [1, -1, 1, 0] } },
  { name: 'Mod fmod=0 by zero is an error', ...mod([7, 5], [3, 0], 0), want: fails('Mod', 'the_mod', 'integer division by zero') },
  { name: 'Mod fmod=1 by zero is an error', ...mod([7, 5], [0, 3], 1), want: fails('Mod', 'the_mod', 'integer division by zero') },
  { name: 'Gather: negative indices count from the end', ...gather([2, -1, -3, 0]), want: { y: [30, 31, 32, 30, 31, 32, 10, 11, 12, 10, 11, 12] } },
  { name: 'Gather int32 indices, axis 1', ...gather([-1, 1], INT32, 1), want: { y: [12, 11, 22, 21, 32, 31] } },
  { name: 'Gather: index past the end is an error', ...gather([0, 3]), want: oob('Gather', 'the_gather', 3, 3) },
  { name: 'Gather: index below -n is an error', ...gather([1, -4], INT32, 1), want: oob('Gather', 'the_gather', -4, 3) },
  {
    name: 'Gather: int64 index beyond int32 is an error', ...gather([2 ** 32 + 1]), want: oob('Gather', 'the_gather', 2 ** 32 + 1, 3),
    wgsl: { error: "error AIC0031: input 'i': value 4294967297 at [0] does not fit in 32 bits (target wgsl computes int64 as 32-bit)" },
  },
  {
    name: 'GatherElements: out of range is an error',
    nodes: [{ op: 'GatherElements', inputs: ['x', 'i'], outputs: ['y'], name: 'ge', attrs: { axis: 1 } }],
    inputs: [io('x', FLOAT, [3, 3], DATA), io('i', INT64, [3, 1], [-1, 0, 5])], outputs: [io('y', FLOAT, [3, 1])],
    want: oob('GatherElements', 'ge', 5, 3),
  },
  {
    name: 'GatherElements: negative indices',
    nodes: [{ op: 'GatherElements', inputs: ['x', 'i'], outputs: ['y'], name: 'ge', attrs: { axis: 1 } }],
    inputs: [io('x', FLOAT, [3, 3], DATA), io('i', INT64, [3, 1], [-1, 0, -2])], outputs: [io('y', FLOAT, [3, 1])],
    want: { y: [12, 20, 31] },
  },
  {
    name: 'GatherND: out of range is an error',
    nodes: [{ op: 'GatherND', inputs: ['x', 'i'], outputs: ['y'], name: 'gnd' }],
    inputs: [io('x', FLOAT, [3, 3], DATA), io('i', INT64, [2, 2], [0, -1, 1, 3])], outputs: [io('y', FLOAT, [2])],
    want: oob('GatherND', 'gnd', 3, 3),
  },
  {
    name: 'ScatterElements: out of range is an error',
    nodes: [{ op: 'ScatterElements', inputs: ['x', 'i', 'u'], outputs: ['y'], name: 'se', attrs: { axis: 0 } }],
    inputs: [io('x', FLOAT, [3, 3], DATA), io('i', INT64, [1, 3], [0, -3, 3]), io('u', FLOAT, [1, 3], [1, 2, 3])], outputs: [io('y', FLOAT, [3, 3])],
    want: oob('ScatterElements', 'se', 3, 3),
  },
  {
    name: 'ScatterElements: negative indices',
    nodes: [{ op: 'ScatterElements', inputs: ['x', 'i', 'u'], outputs: ['y'], name: 'se', attrs: { axis: 0 } }],
    inputs: [io('x', FLOAT, [3, 3], DATA), io('i', INT64, [1, 3], [0, -3, -1]), io('u', FLOAT, [1, 3], [1, 2, 3])], outputs: [io('y', FLOAT, [3, 3])],
    want: { y: [1, 2, 12, 20, 21, 22, 30, 31, 3] },
  },
  {
    name: 'ScatterND: out of range is an error',
    nodes: [{ op: 'ScatterND', inputs: ['x', 'i', 'u'], outputs: ['y'], name: 'snd' }],
    inputs: [io('x', FLOAT, [3, 3], DATA), io('i', INT64, [2, 1], [-1, -4]), io('u', FLOAT, [2, 3], [1, 2, 3, 4, 5, 6])], outputs: [io('y', FLOAT, [3, 3])],
    want: oob('ScatterND', 'snd', -4, 3),
  },
  {
    name: 'ReverseSequence: a length beyond the time axis is an error',
    nodes: [{ op: 'ReverseSequence', inputs: ['x', 'l'], outputs: ['y'], name: 'rs', attrs: { time_axis: 0, batch_axis: 1 } }],
    inputs: [io('x', FLOAT, [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]), io('l', INT64, [2], [3, 5])], outputs: [io('y', FLOAT, [4, 2])],
    want: fails('ReverseSequence', 'rs', 'sequence_lens value 5 is out of range [0, 4]'),
  },
  {
    name: 'ReverseSequence: lengths in range',
    nodes: [{ op: 'ReverseSequence', inputs: ['x', 'l'], outputs: ['y'], name: 'rs', attrs: { time_axis: 0, batch_axis: 1 } }],
    inputs: [io('x', FLOAT, [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]), io('l', INT64, [2], [3, 0])], outputs: [io('y', FLOAT, [4, 2])],
    want: { y: [5, 2, 3, 4, 1, 6, 7, 8] },
  },
  {
    name: 'NegativeLogLikelihoodLoss: a target outside [0, C) is an error',
    nodes: [{ op: 'NegativeLogLikelihoodLoss', inputs: ['x', 't'], outputs: ['y'], name: 'nll', attrs: { ignore_index: -1 } }],
    inputs: [io('x', FLOAT, [2, 3], [-1, -2, -3, -4, -5, -6]), io('t', INT64, [2], [-1, 3])], outputs: [io('y', FLOAT, [])],
    want: fails('NegativeLogLikelihoodLoss', 'nll', 'target value 3 is out of range [0, 3)'),
  },
  {
    name: 'NegativeLogLikelihoodLoss: ignore_index is not checked',
    nodes: [{ op: 'NegativeLogLikelihoodLoss', inputs: ['x', 't'], outputs: ['y'], name: 'nll', attrs: { ignore_index: -1 } }],
    inputs: [io('x', FLOAT, [2, 3], [-1, -2, -3, -4, -5, -6]), io('t', INT64, [2], [-1, 2])], outputs: [io('y', FLOAT, [])],
    want: { y: [6] },
  },
  {
    name: 'RoiAlign: a batch index outside [0, N) is an error',
    nodes: [{ op: 'RoiAlign', inputs: ['x', 'r', 'b'], outputs: ['y'], name: 'roi' }],
    inputs: [io('x', FLOAT, [1, 1, 2, 2], [1, 2, 3, 4]), io('r', FLOAT, [1, 4], [0, 0, 1, 1]), io('b', INT64, [1], [1])], outputs: [io('y', FLOAT, [1, 1, 1, 1])],
    want: fails('RoiAlign', 'roi', 'batch index 1 is out of range [0, 1)'),
  },
  {
    name: 'RNN: a sequence length beyond the sequence is an error',
    nodes: [{ op: 'RNN', inputs: ['x', 'w', 'r', '', 'l'], outputs: ['y'], name: 'rnn', attrs: { hidden_size: 1 } }],
    inputs: [io('x', FLOAT, [2, 1, 1], [1, 2]), io('w', FLOAT, [1, 1, 1], [0.5]), io('r', FLOAT, [1, 1, 1], [0.25]), io('l', INT32, [1], [3])],
    outputs: [io('y', FLOAT, [2, 1, 1, 1])],
    want: fails('RNN', 'rnn', 'sequence_lens value 3 is out of range [0, 2]'),
  },
];

function feedsOf(c: Case): Map<string, RValue> {
  return new Map(c.inputs.map((i) => [i.name, Tensor.fromNumbers(DT[i.dtype!]!, i.shape as number[], i.values)] as [string, RValue]));
}

describe('one semantics on every target', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      const bytes = buildModel(c.nodes, c.inputs, c.outputs, 13, c.init);
      for (const t of TARGETS) {
        it(t, async (ctx) => {
          if (t === 'wgsl' && wgslSkip) return ctx.skip();
          const r = await runOn(t, bytes, feedsOf(c));
          const want = (t === 'wgsl' && c.wgsl) || c.want;
          if ('error' in want) {
            expect('error' in r ? r.error : 'no error').toBe(want.error);
            expect('exit' in r && r.exit).toBe(1);
            return;
          }
          if ('error' in r) throw new Error(`${t}: ${r.error}`);
          const zs = (xs: number[]) => (c.anyZeroSign ? xs.map((x) => (x === 0 ? 0 : x)) : xs);
          for (const [name, v] of Object.entries(want)) expect(zs([...r.outs.get(name)!.num]), `${t} ${name}`).toEqual(zs(v));
        }, 120_000);
      }
    });
  }
});

describe('aic run: a bad index fails the same way on every target', () => {
  const c = CASES.find((x) => x.name === 'Gather: index past the end is an error')!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-semantics-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'm.onnx'), buildModel(c.nodes, c.inputs, c.outputs, 13));
  for (const [name, t] of feedsOf(c)) fs.writeFileSync(path.join(dir, `${name}.npy`), serializeNpy(t as Tensor));
  for (const t of ['interp', 'c', 'wasm-simd']) {
    it(t, () => {
      const out = path.join(dir, `out-${t}`);
      const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/aic'), 'run', path.join(dir, 'm.onnx'), '--target', t,
        '--input', `x=${path.join(dir, 'x.npy')}`, '--input', `i=${path.join(dir, 'i.npy')}`, '--output-dir', out], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(`aic: ${path.join(dir, 'm.onnx')}, node 'the_gather' (#0): error AIC0030: Gather failed: index 3 is out of bounds for a dimension of size 3`);
      expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
    }, 120_000);
  }
});
