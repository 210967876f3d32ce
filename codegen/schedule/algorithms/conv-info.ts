/**
 * What a kernel algorithm needs to know about a 2-d convolution kernel (Conv / aic.FusedConv lowered
 * by ir-spec's direct definition, row-major NCHW): its geometry (from the node's attributes, through
 * the same windowGeometry the op uses), its constant weight, and the one compute stage that holds the
 * convolution sum, whose epilogue (bias, residual, activation) an algorithm keeps as it is.
 */
import { Tensor, type Node } from '@aic/core';
import { getOp, makeAttrReader, windowGeometry } from '@aic/ir-spec';
import { logicalShape, walkExpr, type Buffer, type ComputeStage, type Expr } from '@aic/loop-ir';
import type { KernelSource, Program, ProgramBuffer } from '../../lower/program.ts';
import { peelIndex } from '../pack.ts';

export type Reduce = Extract<Expr, { k: 'reduce' }>;

export interface ConvInfo {
  N: number; C: number; H: number; W: number; M: number; KH: number; KW: number; OH: number; OW: number;
  strides: [number, number]; dilations: [number, number]; pads: [number, number, number, number]; group: number;
  /** the constant weight [M, C/group, KH, KW] */
  weight: ProgramBuffer;
  /** its input / output are stored channel-blocked (NC4HW4 at -O3: buffers with a layout) */
  blocked?: boolean;
  /** index of the final compute stage (writes the output; holds the one convolution sum) */
  stage: number;
  reduce: Reduce;
}

const CONV_OPS = new Set(['Conv', 'FusedConv']);

function reducesOf(e: Expr): Reduce[] {
  const out: Reduce[] = [];
  walkExpr(e, (x) => { if (x.k === 'reduce' && !out.some((r) => JSON.stringify(r) === JSON.stringify(x))) out.push(x); });
  return out;
}

/**
 * Conv geometry of a kernel, or undefined when it is not a plain f32 2-d Conv with a constant weight.
 * A conv on blocked (layout) buffers only with `blocked` (algorithms that go through the index maps).
 */
export function convInfo(prog: Program, kernel: string, blocked = false): ConvInfo | undefined {
  const src = prog.sources.get(kernel);
  const node: Node | undefined = src?.graphNode;
  if (!src || !node || !CONV_OPS.has(node.op) || node.domain !== (node.op === 'Conv' ? '' : 'aic')) return undefined;
  const step = prog.steps.find((s) => s.kernel === kernel);
  const [X, Wp] = src.params;
  if (!step || !X || !Wp || Wp.role !== 'weight' || X.dtype !== 'f32') return undefined;
  const laid = !!(X.layout || Wp.layout);
  if (laid && !blocked) return undefined;
  const xs = logicalShape(X), ws = logicalShape(Wp);
  if (xs.length !== 4 || ws.length !== 4) return undefined;
  const weight = prog.weights.find((w) => w.name === step.args[1]);
  if (!weight?.data || !(weight.data instanceof Tensor)) return undefined;
  const xv = node.inputs[0], yv = node.outputs[0];
  if (!xv || !yv || (xv.shape as number[]).join() !== xs.join()) return undefined;
  const stage = src.stages.findIndex((st) => st.kind === 'compute' && st.out.role === 'output');
  const st = src.stages[stage] as ComputeStage | undefined;
  const os = st && logicalShape(st.out);
  if (!st || !os || os.length !== 4 || os.join() !== (yv.shape as number[]).join() || (!!st.out.layout && !blocked)) return undefined;
  const reds = reducesOf(st.body);
  if (reds.length !== 1 || reds[0].t !== 'f32' || reds[0].op !== 'sum') return undefined;
  const def = getOp('Conv', '')!;
  const attrs = makeAttrReader(def, node.attrs);
  const [N, C, H, W] = xs, [M, Cg, KH, KW] = ws;
  const group = attrs.has('group') ? attrs.int('group') : 1;
  if (Cg * group !== C) return undefined;
  const win = windowGeometry('Conv', [H, W], [KH, KW], attrs, {});
  const [OH, OW] = os.slice(2);
  if (win.out[0] !== OH || win.out[1] !== OW) return undefined;
  return {
    N, C, H, W, M, KH, KW, OH, OW, group, weight, stage, reduce: reds[0], ...(laid || st.out.layout ? { blocked: true } : {}),
    strides: [win.strides[0], win.strides[1]], dilations: [win.dilations[0], win.dilations[1]],
    pads: [win.padBegin[0], win.padBegin[1], win.padEnd[0], win.padEnd[1]],
  };
}

/** One line for `--stats`: the conv's shape. */
export function convShape(c: ConvInfo): string {
  const extra = [c.strides.some((s) => s !== 1) ? `s${c.strides.join('x')}` : '', c.dilations.some((d) => d !== 1) ? `d${c.dilations.join('x')}` : '', c.group !== 1 ? `g${c.group}` : ''].filter(Boolean).join(' ');
  return `conv ${c.N}x${c.C}x${c.H}x${c.W} -> ${c.M}x${c.OH}x${c.OW} k${c.KH}x${c.KW}${extra ? ' ' + extra : ''}`;
}

/** Drop param `p` of kernel `src` (and its step argument); the weight leaves the program when no other step reads it. */
export function dropParam(prog: Program, src: KernelSource, p: number): void {
  const step = prog.steps.find((s) => s.kernel === src.name)!;
  const name = step.args[p];
  src.params = src.params.filter((_, i) => i !== p);
  step.args = step.args.filter((_, i) => i !== p);
  if (!prog.steps.some((s) => s.args.includes(name)) && !prog.outputs.some((o) => o.name === name)) {
    prog.weights = prog.weights.filter((w) => w.name !== name);
  }
}

/** does e use variable v? */
export const usesVar = (e: Expr, v: string) => { let u = false; walkExpr(e, (x) => { if (x.k === 'var' && x.name === v) u = true; }); return u; };

/**
 * The conv sum's input: its one load that depends on the output position (oh, ow), with the 4-d
 * buffer it reads (the input param or its padded copy); undefined when there are several, the sum
 * has a select (a guarded load), or the buffer is not 4-d.
 */
export function convInputLoad(src: KernelSource, c: ConvInfo, blocked = false): { load: Extract<Expr, { k: 'load' }>; buf: Buffer } | undefined {
  const st = src.stages[c.stage] as ComputeStage;
  const [, , oh, ow] = st.axes;
  const loads: Extract<Expr, { k: 'load' }>[] = [];
  let guarded = false;
  walkExpr(c.reduce.body, (x) => {
    if (x.k === 'load' && (usesVar(x.idx, ow) || usesVar(x.idx, oh))) loads.push(x);
    if (x.k === 'select') guarded = true;
  });
  if (loads.length !== 1 || guarded) return undefined;
  const buf = [...src.params, ...src.temps].find((b) => b.name === loads[0].buf);
  return buf && (blocked ? logicalShape(buf) : buf.shape).length === 4 ? { load: loads[0], buf } : undefined;
}

/**
 * The logical multi-index a load reads from buf: its physical dims (peeled), with a blocked dim's
 * outer / inner parts (i / x, i % x of one expression i) put back together; undefined otherwise.
 */
export function logicalIndexOf(idx: Expr, buf: Buffer): Expr[] | undefined {
  const phys = peelIndex(idx, buf.shape);
  if (!phys || !buf.layout) return phys;
  const out: (Expr | undefined)[] = buf.layout.logical.map(() => undefined);
  const key = (e: Expr) => JSON.stringify(e);
  for (let k = 0; k < buf.layout.dims.length; k++) {
    const d = buf.layout.dims[k], e = phys[k];
    if (d.part === 'whole') { out[d.dim] = e; continue; }
    const op = d.part === 'outer' ? 'div' : 'mod';
    if (e.k !== 'bin' || e.op !== op || e.b.k !== 'const' || e.b.v !== d.block) return undefined;
    if (out[d.dim] && key(out[d.dim]!) !== key(e.a)) return undefined;
    out[d.dim] = e.a;
  }
  return out.every((e) => e) ? out as Expr[] : undefined;
}

/**
 * Geometry of an int8 aic.QConv kernel (row-major, 2-d; channel-blocked too with `blocked`), as a
 * ConvInfo for the algorithms that only rewrite how the input is read (gemm1x1.ts's flattening,
 * phases.ts): its weight is the packed int8 one, not an f32 tensor (`weight` is undefined). Undefined
 * when the kernel is not such a QConv.
 */
export function qconvInfo(prog: Program, kernel: string, blocked = false): ConvInfo | undefined {
  const src = prog.sources.get(kernel);
  const node = src?.graphNode;
  if (!src || !node || node.op !== 'QConv' || node.domain !== 'aic') return undefined;
  const [X] = src.params;
  const xs = X && logicalShape(X), ys = node.outputs[0]?.shape as number[] | undefined, ws = node.inputs[1]?.shape as number[] | undefined;
  if (!X || (X.layout && !blocked) || xs?.length !== 4 || ys?.length !== 4 || ws?.length !== 4) return undefined;
  const attrs = makeAttrReader(getOp('QConv', 'aic')!, node.attrs);
  const group = attrs.has('group') ? attrs.int('group') : 1;
  const win = windowGeometry('Conv', xs.slice(2), ws.slice(2), attrs, {});
  if (win.out[0] !== ys[2] || win.out[1] !== ys[3]) return undefined;
  const stage = src.stages.findIndex((st) => st.kind === 'compute' && st.out.role === 'output');
  const st = src.stages[stage] as ComputeStage | undefined;
  if (!st || st.axes.length !== 4 || (st.out.layout && !blocked)) return undefined;
  const reds = reducesOf(st.body);
  if (reds.length !== 1) return undefined;
  const [N, C, H, W] = xs, [M, , KH, KW] = ws, [, , OH, OW] = ys;
  const laid = !!(X.layout || st.out.layout || src.params[1]?.layout);
  return {
    N, C, H, W, M, KH, KW, OH, OW, group, stage, reduce: reds[0], weight: undefined as unknown as ProgramBuffer, ...(laid ? { blocked: true } : {}),
    strides: [win.strides[0], win.strides[1]], dilations: [win.dilations[0], win.dilations[1]],
    pads: [win.padBegin[0], win.padBegin[1], win.padEnd[0], win.padEnd[1]],
  };
}
