/**
 * Control flow: If, Loop, Scan (opset 9+ form) and the batched opset-8 Scan. Bodies are graph
 * attributes run through ctx.runSubgraph, so body nodes see values of enclosing graphs.
 */
import {
  SHORT_NAME, Tensor, diag, formatBytes, freshDim, maxTensorBytes, nodeLocation, tensorBytes, type Dim, type Graph, type RValue, type Shape,
} from '@aic/core';

/** What one iteration's scan value costs the interpreter beyond its elements (a Tensor object and its buffer). */
const SCAN_ITERATION_OVERHEAD = 256;
/** The largest constant trip count a compiled Loop's scan outputs are allocated for when its condition may stop it early. */
const MAX_BOUNDED_TRIP = 1 << 20;
import { defineOp } from '../registry.ts';
import type { EvalCtx, InferCtx, OutType } from '../types.ts';
import { ALL } from '../lib/infer-helpers.ts';
import { normAxis } from '../lib/util.ts';

// ---- helpers ------------------------------------------------------------------------------------

/** Type of a subgraph output, as declared in the body. */
function bodyOut(g: Graph, i: number): OutType {
  const v = g.outputs[i];
  return { dtype: v.type.dtype, shape: v.type.shape?.slice(), kind: v.kind };
}

/** Element types and kinds of inputs first..., as a body receives them (Loop carries, Scan states and slices). */
function passedIn(ctx: InferCtx, first: number): (OutType | undefined)[] {
  return ctx.inputTypes.slice(first).map((t, i) => (t ? { dtype: t.dtype, shape: undefined, kind: ctx.node.inputs[first + i]?.kind } : undefined));
}

/** Does a Loop body give back its condition input unchanged (through Identity), or constant true? */
export function keepsCondition(body: Graph): boolean {
  let v: Graph['outputs'][number] | undefined = body.outputs[0];
  for (let i = 0; v && v !== body.inputs[1] && i < 64; i++) {
    if (v.const) return v.const.num.length === 1 && v.const.num[0] !== 0;
    const p = body.nodes.find((n) => n.outputs.includes(v!));
    if (p?.op === 'Constant' && !p.domain) { const k = p.attrs['value']; return k?.type === 'tensor' && k.value.num.length === 1 && k.value.num[0] !== 0; }
    if (p?.op !== 'Identity' || p.domain) return false;
    v = p.inputs[0] ?? undefined;
  }
  return v === body.inputs[1];
}

/** Merge two shapes: equal dims kept, differing dims become fresh symbols, differing ranks unknown. */
function mergeShapes(a: Shape, b: Shape): Shape {
  if (!a || !b || a.length !== b.length) return undefined;
  return a.map((d, i) => (d === b[i] ? d : freshDim()));
}

/** Element [idx] of t along `axis`, with that axis removed. */
export function takeAlong(t: Tensor, axis: number, idx: number): Tensor {
  const shape = t.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const out = new Tensor(t.dtype, shape.filter((_, i) => i !== axis));
  const src = t.data as ArrayLike<unknown> & Record<number, unknown>, dst = out.data as unknown as unknown[];
  for (let o = 0; o < outer; o++) {
    const s = (o * n + idx) * inner, d = o * inner;
    for (let k = 0; k < inner; k++) dst[d + k] = src[s + k];
  }
  return out;
}

/** Stack equally-shaped tensors along a new axis. */
export function stackAlong(ts: readonly Tensor[], axis: number, dtype = ts[0]!.dtype, elem = ts[0]!.shape): Tensor {
  const n = ts.length;
  for (const t of ts) {
    if (t.shape.length !== elem.length || t.shape.some((d, i) => d !== elem[i])) {
      throw diag.shapeMismatch('stack', `scan outputs have different shapes [${elem.join(', ')}] and [${t.shape.join(', ')}]`);
    }
  }
  const outer = elem.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = elem.slice(axis).reduce((a, b) => a * b, 1);
  const out = new Tensor(dtype, [...elem.slice(0, axis), n, ...elem.slice(axis)]);
  const dst = out.data as unknown as unknown[];
  ts.forEach((t, j) => {
    const src = t.data as unknown as unknown[];
    for (let o = 0; o < outer; o++) {
      const d = (o * n + j) * inner, s = o * inner;
      for (let k = 0; k < inner; k++) dst[d + k] = src[s + k];
    }
  });
  return out;
}

function truthy(t: Tensor): boolean {
  if (t.size !== 1) throw diag.verify('control', `condition must have one element, got shape [${t.shape.join(', ')}]`);
  return t.num[0] !== 0;
}

/** Stack per-iteration scan values; with zero iterations the body's declared static shape is used. */
function stackScan(vals: Tensor[], body: Graph, outIdx: number, axisIn: number, op: string): Tensor {
  const decl = body.outputs[outIdx]!;
  const rank = vals.length > 0 ? vals[0].rank : decl.type.shape?.length;
  const axis = axisIn < 0 && rank !== undefined ? axisIn + rank + 1 : axisIn;
  if (rank !== undefined && (axis < 0 || axis > rank)) throw diag.verify(op, `scan output axis ${axisIn} is out of range for rank ${rank + 1}`);
  if (vals.length > 0) return stackAlong(vals, axis);
  const s = decl.type.shape;
  if (!s || !s.every((d) => typeof d === 'number')) {
    throw diag.unsupportedFeature(`${op} with zero iterations and a scan output of unknown shape`);
  }
  const elem = s as number[];
  return new Tensor(decl.type.dtype, [...elem.slice(0, axis), 0, ...elem.slice(axis)]);
}

// ---- If -----------------------------------------------------------------------------------------
defineOp({
  name: 'If', category: 'control',
  summary: 'runs then_branch or else_branch depending on a boolean scalar; outputs are the branch outputs',
  types: { B: ['bool'] },
  inputs: [{ name: 'cond', type: 'B' }],
  outputs: [{ name: 'outputs', variadic: true }],
  attrs: {
    then_branch: { type: 'graph', required: true, doc: 'graph run when cond is true' },
    else_branch: { type: 'graph', required: true, doc: 'graph run when cond is false' },
  },
  onnx: { since: 1 },
  bodyInputs: () => [], // branches take no inputs; they read the enclosing graphs' values
  infer: (ctx) => {
    const tb = ctx.attrs.graph('then_branch'), eb = ctx.attrs.graph('else_branch');
    const loc = nodeLocation(ctx.node);
    if (tb.outputs.length !== eb.outputs.length) {
      throw diag.verify('If', `then_branch has ${tb.outputs.length} outputs but else_branch has ${eb.outputs.length}`, loc);
    }
    if (ctx.outputCount > tb.outputs.length) {
      throw diag.verify('If', `node has ${ctx.outputCount} outputs but the branches produce ${tb.outputs.length}`, loc);
    }
    const c = ctx.type(0);
    if (c.shape && c.shape.length > 0 && c.shape.some((d) => typeof d === 'number' && d !== 1)) {
      throw diag.verify('If', `cond must be a single boolean, got shape [${c.shape.join(', ')}]`, loc);
    }
    return Array.from({ length: ctx.outputCount }, (_, i) => {
      const a = bodyOut(tb, i), b = bodyOut(eb, i);
      if (a.dtype !== b.dtype) throw diag.typeMismatch(`If output ${i} (else_branch)`, a.dtype, b.dtype, loc);
      const kind = a.kind === 'optional' || b.kind === 'optional' ? (a.kind === 'sequence' || b.kind === 'sequence' ? 'sequence' : 'optional') : a.kind;
      return { dtype: a.dtype, shape: mergeShapes(a.shape, b.shape), kind };
    });
  },
  eval: (ctx) => {
    const c = truthy(ctx.input(0));
    const g = ctx.attrs.graph(c ? 'then_branch' : 'else_branch');
    return ctx.runSubgraph(g, []).slice(0, ctx.outputCount);
  },
});

// ---- Loop ---------------------------------------------------------------------------------------
defineOp({
  name: 'Loop', category: 'control',
  summary: 'generic loop: runs body while iter < M and cond; carries N values and stacks K scan outputs along a new axis 0',
  types: { I: ['int64'], B: ['bool'], V: ALL },
  inputs: [
    { name: 'M', type: 'I', optional: true, doc: 'maximum trip count (omitted = unbounded)' },
    { name: 'cond', type: 'B', optional: true, doc: 'initial loop condition (omitted = true)' },
    { name: 'v_initial', type: 'V', variadic: true, doc: 'initial loop-carried values (tensors, sequences or optionals)' },
  ],
  outputs: [{ name: 'v_final_and_scan_outputs', type: 'V', variadic: true }],
  attrs: { body: { type: 'graph', required: true, doc: '(iter_num, cond, v...) -> (cond, v..., scan...)' } },
  onnx: { since: 1 },
  bodyInputs: (ctx) => [{ dtype: 'int64', shape: [] }, { dtype: 'bool', shape: [] }, ...passedIn(ctx, 2)],
  infer: (ctx) => {
    const body = ctx.attrs.graph('body');
    const loc = nodeLocation(ctx.node);
    const n = Math.max(0, ctx.inputTypes.length - 2);
    if (body.inputs.length !== n + 2) {
      throw diag.verify('Loop', `body has ${body.inputs.length} inputs but the loop carries ${n} values (expected ${n + 2})`, loc);
    }
    if (body.outputs.length < n + 1) {
      throw diag.verify('Loop', `body has ${body.outputs.length} outputs, expected at least ${n + 1}`, loc);
    }
    const k = body.outputs.length - 1 - n;
    if (ctx.outputCount > n + k) throw diag.verify('Loop', `node has ${ctx.outputCount} outputs but the body yields ${n + k}`, loc);
    const mc = ctx.constValue(0), cc = ctx.constValue(1);
    // M iterations when nothing can stop it earlier: no condition, or a true one the body passes on unchanged
    const trip: Dim = mc && (!ctx.node.inputs[1] || (cc && cc.num[0] !== 0 && keepsCondition(body))) ? Math.max(0, mc.num[0]!) : freshDim('trip');
    const outs: OutType[] = [];
    for (let i = 0; i < Math.min(ctx.outputCount, n + k); i++) {
      if (i < n) {
        const init = ctx.inputTypes[i + 2];
        const b = bodyOut(body, i + 1);
        const kind = b.kind === 'optional' ? 'optional' : b.kind;
        outs.push({ dtype: b.dtype, shape: init && ctx.node.inputs[i + 2]?.kind === b.kind ? mergeShapes(init.shape, b.shape) : b.shape, kind });
      } else {
        const b = bodyOut(body, i + 1);
        outs.push({ dtype: b.dtype, shape: b.shape ? [trip, ...b.shape] : undefined, kind: 'tensor' });
      }
    }
    return outs;
  },
  // a condition computed from the data stops the loop early: scan outputs are bounded by a constant trip count
  maxShape: (ctx, outs) => {
    const mc = ctx.constValue(0);
    const m = mc ? Number(mc.num[0]!) : NaN;
    if (!(m >= 0 && m <= MAX_BOUNDED_TRIP)) return [];
    const n = Math.max(0, ctx.inputTypes.length - 2);
    return outs.map((o, i) => (i >= n && o.shape?.length && o.shape.slice(1).every((d) => typeof d === 'number') ? [m, ...(o.shape.slice(1) as number[])] : undefined));
  },
  eval: (ctx) => {
    const body = ctx.attrs.graph('body');
    const mT = ctx.optInput(0), cT = ctx.optInput(1);
    const maxTrip = mT ? mT.num[0]! : Infinity;
    let cond = cT ? truthy(cT) : true;
    const n = Math.max(0, ctx.inputs.length - 2);
    let carried: RValue[] = [];
    for (let i = 0; i < n; i++) carried.push(ctx.inputs[i + 2] ?? null);
    const k = body.outputs.length - 1 - n;
    const scans: Tensor[][] = Array.from({ length: k }, () => []);
    const scanBytes = new Array<number>(k).fill(0);
    if (!mT && !cT) throw diag.unsupportedFeature('Loop without a trip count or a condition (never terminates)');
    for (let it = 0; it < maxTrip && cond; it++) {
      const outs = ctx.runSubgraph(body, [Tensor.scalarOf('int64', it), Tensor.scalarOf('bool', cond ? 1 : 0), ...carried]);
      const c = outs[0];
      if (!(c instanceof Tensor)) throw diag.verify('Loop', 'body condition output must be a tensor');
      if (cT) cond = truthy(c); // without a cond input the body's condition is ignored
      carried = outs.slice(1, 1 + n);
      for (let j = 0; j < k; j++) {
        const s = outs[1 + n + j];
        if (!(s instanceof Tensor)) throw diag.verify('Loop', `scan output ${j} must be a tensor`);
        scans[j].push(s);
        // the stacked output grows every iteration (a trip count of 2^31 is legal): refuse it once it, with the
        // interpreter's per-iteration overhead, passes --max-tensor-bytes, before the heap runs out
        scanBytes[j] += tensorBytes(s.dtype, s.shape) + SCAN_ITERATION_OVERHEAD;
        if (scanBytes[j] > maxTensorBytes()) {
          throw diag.tensorTooLarge(`scan output ${j} of Loop after ${it + 1} iterations`, `${SHORT_NAME[s.dtype]}[${[scans[j].length, ...s.shape].join(', ')}]`,
            formatBytes(scanBytes[j]), formatBytes(maxTensorBytes()), nodeLocation(ctx.node));
        }
      }
    }
    const res: RValue[] = [...carried, ...scans.map((vals, j) => stackScan(vals, body, 1 + n + j, 0, 'Loop'))];
    return res.slice(0, ctx.outputCount);
  },
});

// ---- Scan (opset 9+) ----------------------------------------------------------------------------

interface ScanCfg {
  nState: number; nScanIn: number; nScanOut: number;
  inAxes: number[]; inDirs: number[]; outAxes: number[]; outDirs: number[];
}

function scanCfg(ctx: { attrs: EvalCtx['attrs'] }, nIn: number, body: Graph, rankOf: (i: number) => number | undefined,
  outRank: (j: number) => number | undefined): ScanCfg {
  const m = ctx.attrs.int('num_scan_inputs');
  const nState = nIn - m;
  if (m < 1 || nState < 0) throw diag.verify('Scan', `num_scan_inputs=${m} does not fit ${nIn} inputs`);
  if (body.inputs.length !== nIn) throw diag.verify('Scan', `body has ${body.inputs.length} inputs, expected ${nIn}`);
  const nScanOut = body.outputs.length - nState;
  if (nScanOut < 0) throw diag.verify('Scan', `body has ${body.outputs.length} outputs, expected at least ${nState}`);
  const list = (name: string, len: number, def: number) => {
    if (!ctx.attrs.has(name)) return new Array<number>(len).fill(def);
    const v = ctx.attrs.ints(name);
    if (v.length !== len) throw diag.verify('Scan', `${name} has ${v.length} entries, expected ${len}`);
    return v;
  };
  const inAxes = list('scan_input_axes', m, 0).map((a, i) => { const r = rankOf(nState + i); return r === undefined ? a : normAxis(a, r, 'Scan'); });
  const outAxes = list('scan_output_axes', nScanOut, 0).map((a, j) => { const r = outRank(j); return r === undefined ? a : normAxis(a, r + 1, 'Scan'); });
  return { nState, nScanIn: m, nScanOut, inAxes, inDirs: list('scan_input_directions', m, 0), outAxes, outDirs: list('scan_output_directions', nScanOut, 0) };
}

/** Run the Scan recurrence; returns final states and stacked scan outputs. */
function runScan(ctx: EvalCtx, body: Graph, states: Tensor[], scanIns: Tensor[], cfg: ScanCfg, len?: number): Tensor[] {
  let L = len;
  scanIns.forEach((t, i) => {
    const d = t.shape[cfg.inAxes[i]];
    if (d === undefined) throw diag.verify('Scan', `scan input ${i} has rank ${t.rank}, too small for axis ${cfg.inAxes[i]}`);
    if (len === undefined) {
      if (L === undefined) L = d;
      else if (L !== d) throw diag.shapeMismatch('Scan', `scan inputs have different sequence lengths ${L} and ${d}`);
    }
  });
  const T = L ?? 0;
  let st: RValue[] = states;
  const collected: Tensor[][] = Array.from({ length: cfg.nScanOut }, () => []);
  for (let t = 0; t < T; t++) {
    const elems = scanIns.map((x, i) => takeAlong(x, cfg.inAxes[i], cfg.inDirs[i] ? T - 1 - t : t));
    const outs = ctx.runSubgraph(body, [...st, ...elems]);
    st = outs.slice(0, cfg.nState);
    for (let j = 0; j < cfg.nScanOut; j++) {
      const o = outs[cfg.nState + j];
      if (!(o instanceof Tensor)) throw diag.verify('Scan', `scan output ${j} must be a tensor`);
      collected[j].push(o);
    }
  }
  const finals = st.map((s) => { if (!(s instanceof Tensor)) throw diag.verify('Scan', 'state values must be tensors'); return s; });
  const scans = collected.map((vals, j) => {
    const ordered = cfg.outDirs[j] ? vals.slice().reverse() : vals;
    return stackScan(ordered, body, cfg.nState + j, cfg.outAxes[j], 'Scan');
  });
  return [...finals, ...scans];
}

function scanInfer(ctx: InferCtx, stateOffset: number, batch: boolean): OutType[] {
  const body = ctx.attrs.graph('body');
  if (ctx.outputCount > body.outputs.length) {
    throw diag.verify('Scan', `node has ${ctx.outputCount} outputs but the body yields ${body.outputs.length}`, nodeLocation(ctx.node));
  }
  const nIn = ctx.inputTypes.length - stateOffset;
  const cfg = scanCfg(ctx, nIn, body, (i) => (batch ? undefined : ctx.inputTypes[i + stateOffset]?.shape?.length),
    (j) => body.outputs[nIn - ctx.attrs.int('num_scan_inputs') + j]?.type.shape?.length);
  let L: Dim | undefined;
  for (let i = 0; i < cfg.nScanIn; i++) {
    const s = ctx.inputTypes[stateOffset + cfg.nState + i]?.shape;
    const ax = batch ? 1 : cfg.inAxes[i];
    const d = s?.[ax];
    if (d !== undefined && (L === undefined || typeof L === 'string')) L = d;
  }
  const len: Dim = L ?? freshDim('seq');
  const outs: OutType[] = [];
  for (let i = 0; i < Math.min(ctx.outputCount, body.outputs.length); i++) {
    const b = bodyOut(body, i);
    if (i < cfg.nState) {
      const s0 = ctx.inputTypes[stateOffset + i]?.shape;
      outs.push({ dtype: b.dtype, shape: s0?.slice() });
    } else if (batch) {
      const bs = ctx.inputTypes[stateOffset + cfg.nState]?.shape?.[0] ?? freshDim('batch');
      outs.push({ dtype: b.dtype, shape: b.shape ? [bs, len, ...b.shape] : undefined });
    } else {
      const ax = cfg.outAxes[i - cfg.nState];
      outs.push({ dtype: b.dtype, shape: b.shape ? [...b.shape.slice(0, ax), len, ...b.shape.slice(ax)] : undefined });
    }
  }
  return outs;
}

const scanAttrs = {
  body: { type: 'graph' as const, required: true, doc: '(states..., scan elements...) -> (states..., scan outputs...)' },
  num_scan_inputs: { type: 'int' as const, required: true, doc: 'number of scan inputs (the last inputs)' },
};

defineOp({
  name: 'Scan', category: 'control',
  summary: 'iterates body over slices of the scan inputs along their scan axes, carrying states and stacking scan outputs',
  types: { V: ALL },
  inputs: [{ name: 'initial_state_and_scan_inputs', type: 'V', variadic: true }],
  outputs: [{ name: 'final_state_and_scan_outputs', type: 'V', variadic: true }],
  attrs: {
    ...scanAttrs,
    scan_input_axes: { type: 'ints', required: false, doc: 'axis to scan per scan input (default 0)' },
    scan_input_directions: { type: 'ints', required: false, doc: '0 forward, 1 reverse (default 0)' },
    scan_output_axes: { type: 'ints', required: false, doc: 'axis along which each scan output is stacked (default 0)' },
    scan_output_directions: { type: 'ints', required: false, doc: '0 append, 1 prepend (default 0)' },
  },
  onnx: { since: 9 },
  infer: (ctx) => scanInfer(ctx, 0, false),
  bodyInputs: (ctx) => passedIn(ctx, 0),
  eval: (ctx) => {
    const body = ctx.attrs.graph('body');
    const ins = ctx.inputs.map((_, i) => ctx.input(i));
    const cfg = scanCfg(ctx, ins.length, body, (i) => ins[i].rank, () => undefined);
    const m = ctx.attrs.int('num_scan_inputs');
    const outs = runScan(ctx, body, ins.slice(0, ins.length - m), ins.slice(ins.length - m), cfg);
    return outs.slice(0, ctx.outputCount);
  },
});

// ---- Scan-8: batched form (axis 0 = batch, axis 1 = sequence) -------------------------------------
defineOp({
  name: 'Scan8', category: 'control',
  summary: 'opset-8 Scan: like Scan but every input/output has a leading batch axis and scans along axis 1',
  types: { I: ['int32'], V: ALL },
  inputs: [
    { name: 'sequence_lens', type: 'I', optional: true },
    { name: 'initial_state_and_scan_inputs', type: 'V', variadic: true },
  ],
  outputs: [{ name: 'final_state_and_scan_outputs', type: 'V', variadic: true }],
  attrs: {
    ...scanAttrs,
    directions: { type: 'ints', required: false, doc: 'per scan input: 0 forward, 1 reverse' },
  },
  onnx: { opType: 'Scan', since: 8, until: 8 },
  infer: (ctx) => scanInfer(ctx, 1, true),
  bodyInputs: (ctx) => passedIn(ctx, 1),
  eval: (ctx) => {
    const body = ctx.attrs.graph('body');
    const ins = ctx.inputs.slice(1).map((_, i) => ctx.input(i + 1));
    const m = ctx.attrs.int('num_scan_inputs');
    const nState = ins.length - m;
    const dirs = ctx.attrs.has('directions') ? ctx.attrs.ints('directions') : new Array<number>(m).fill(0);
    if (dirs.length !== m) throw diag.verify('Scan', `directions has ${dirs.length} entries, expected ${m}`);
    const nScanOut = body.outputs.length - nState;
    const cfg: ScanCfg = {
      nState, nScanIn: m, nScanOut, inAxes: new Array<number>(m).fill(0), inDirs: dirs,
      outAxes: new Array<number>(nScanOut).fill(0), outDirs: new Array<number>(nScanOut).fill(0),
    };
    if (ins.length === 0 || ins[0].rank < 1) throw diag.verify('Scan', 'inputs need a batch axis');
    const B = ins[0].shape[0]!;
    if (B === 0) throw diag.unsupportedFeature('Scan-8 with an empty batch');
    const maxLen = m > 0 ? ins[nState].shape[1] : 0;
    if (maxLen === undefined) throw diag.verify('Scan', 'scan inputs need a sequence axis 1');
    const sl = ctx.optInput(0);
    if (sl && sl.toNumbers().some((v) => v !== maxLen)) {
      throw diag.unsupportedFeature('Scan-8 with sequence_lens shorter than the sequence axis');
    }
    const perBatch: Tensor[][] = [];
    for (let b = 0; b < B; b++) {
      const slice = ins.map((t) => takeAlong(t, 0, b));
      perBatch.push(runScan(ctx, body, slice.slice(0, nState), slice.slice(nState), cfg));
    }
    const nOut = nState + nScanOut;
    const outs: Tensor[] = [];
    for (let j = 0; j < nOut; j++) outs.push(stackAlong(perBatch.map((r) => r[j]), 0));
    return outs.slice(0, ctx.outputCount);
  },
});
