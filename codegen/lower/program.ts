/**
 * Graph -> Program: one kernel per graph node (from the op's compute definition in ir-spec), plus a
 * host plan (kernel order and the buffers each call binds). Targets render Programs.
 */
import { AicError, cloneGraph, diag, isStatic, layoutBlock, nodeLocation, reportProgress, type Graph, type Location, type Node, type Tensor, type Value } from '@aic/core';
import { getOp, makeAttrReader, validateGraph, type LowerCtx, type TargetCaps } from '@aic/ir-spec';
import {
  E, S, ScheduleError, applyDirective, isKernelLevel, physicalShapeOf, hoistChecks, directiveLoop, initialState, isStageDirective, numel, realizeStage, realizeStages, simplifyStmt, tensorRef,
  computeT, type AxisState, type Buffer, type BufferRole, type Directive, type Expr, type Kernel, type Stage, type Stmt, type TensorRef,
} from '@aic/loop-ir';
import { foldNodesWhere } from '@aic/passes';
import { scalarTypeOf } from './dtypes.ts';
import { legalizeHalf, weightStorage } from './half.ts';
import { bufferLayoutOf, materializeBoundaries, paddedChannelConstant } from './layout.ts';
import { simplifyDivMod } from '../schedule/pack.ts';
import { boundShape, boundedInput, checkConsumer, compactAfter, extentBuffer, extentsAsOutputs, zeroTail, type RuntimeExtent } from './dynamic.ts';
import { notifyLowered } from './observe.ts';
import type { SymbolicBatch } from './symbolic.ts';
import type { RuntimeExtents } from './extents.ts';
import type { View } from '../memory/concat-views.ts';
import { controlSource, isControl, lowerControl, refineControlShapes, type ControlCtx } from './control.ts';

/** A buffer of the whole program: graph input/output, weight, or intermediate. */
export interface ProgramBuffer extends Buffer {
  /** graph value name it holds */
  value: string;
  /** weights: the constant's data */
  data?: Tensor;
  /** a value whose size the data decides: the shape is a bound (lower/dynamic.ts) */
  extent?: RuntimeExtent;
}

export interface Step {
  kernel: string;
  /** program buffer names bound to the kernel's params, in order */
  args: string[];
  node: string;
  /** the node's op and location, for runtime check failures (lower/checks.ts) */
  op?: string;
  loc?: Location;
}

/** A kernel before scheduling: its stages (compute definitions) and scratch buffers. */
export interface KernelSource {
  name: string;
  op: string;
  domain: string;
  params: Buffer[];
  stages: Stage[];
  temps: Buffer[];
  /** the node, for messages */
  node: string;
  /** the graph node it was lowered from (kernel algorithms read its attributes: codegen/schedule/algorithms) */
  graphNode?: Node;
  /** kernel-unique name generator, shared with realization */
  fresh: (p: string) => string;
}

export interface Program {
  name: string;
  /** kernel sources by kernel name (copies have none) */
  sources: Map<string, KernelSource>;
  /** the schedule each kernel was realized with */
  schedules: Map<string, Directive[]>;
  inputs: ProgramBuffer[];
  outputs: ProgramBuffer[];
  weights: ProgramBuffer[];
  temps: ProgramBuffer[];
  kernels: Kernel[];
  steps: Step[];
  /** a symbolic batch: the program is one sample, the artifact runs it per sample (lower/symbolic.ts) */
  batch?: SymbolicBatch;
  /** symbolic dims as run-time extents: the program is sized for their maximum (lower/extents.ts) */
  extents?: RuntimeExtents;
  /** one of the values a run-time extent is lowered at (lower/extents.ts): schedules must not depend on a symbolic extent */
  sampled?: boolean;
  /** temps placed inside another temp (a Concat's inputs in its output: memory/concat-views.ts) */
  views?: Map<string, View>;
}

/** Elements above which a Constant node's value is a weight, not stores in a kernel (-O0 keeps Constant nodes). */
const CONSTANT_AS_WEIGHT = 4096;

/** g, or a copy whose large Constant nodes are graph constants (weights), as fold-constants makes them at -O1+. */
function largeConstantsAsWeights(g: Graph): Graph {
  const big = (n: Node) => n.op === 'Constant' && !n.domain && Object.values(n.attrs).some((a) => a.type === 'tensor' && a.value.size > CONSTANT_AS_WEIGHT);
  if (!g.nodes.some(big)) return g;
  const c = cloneGraph(g);
  foldNodesWhere(c, big);
  return c;
}

export function lowerGraph(g0: Graph, target: TargetCaps): Program {
  validateGraph(g0); // what the interpreter refuses, no target compiles
  const g = largeConstantsAsWeights(materializeBoundaries(g0));
  // constants read by kernels with channel-blocked outputs, and the widest such block
  const blockedReaders = new Map<Value, number>();
  for (const n of g.nodes) {
    const x = Math.max(0, ...n.outputs.map((o) => (o.type.layout?.startsWith('NC') ? layoutBlock(o.type.layout) : 0)));
    if (x) for (const v of n.inputs) if (v?.const) blockedReaders.set(v, Math.max(x, blockedReaders.get(v) ?? 0));
  }
  const bufOf = new Map<Value, ProgramBuffer>();
  const used = new Set<string>();
  const uniq = (base: string) => {
    let n = base.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(n)) n = `v_${n}`;
    let k = n, i = 1;
    while (used.has(k)) k = `${n}_${i++}`;
    used.add(k);
    return k;
  };
  const mk = (v: Value, role: BufferRole): ProgramBuffer => {
    const st = scalarTypeOf(v.dtype);
    if (!st || !target.dtypes.includes(st)) {
      throw diag.unsupportedDtype(`value '${v.name}' on target ${target.name}`, v.dtype, v.producer ? nodeLocation(v.producer) : undefined);
    }
    if (v.kind !== 'tensor') throw diag.unsupportedFeature(`${v.kind} value '${v.name}' on target ${target.name}`);

    const bound = isStatic(v.shape) ? undefined : boundShape(v, target.name, bufOf);
    if (!isStatic(v.shape) && !bound) {
      throw diag.unsupportedFeature(`value '${v.name}' has an unknown shape [${v.shape?.join(', ') ?? '?'}] (bind inputs with --input-shape / --const-input)`,
        v.producer ? nodeLocation(v.producer) : undefined);
    }
    let layout = bufferLayoutOf(v.type.layout, v.shape as number[]);
    let data = v.const;
    // per-channel constants of channel-blocked kernels: padded to whole blocks (lower/layout.ts)
    const padded = !layout && data && blockedReaders.has(v) ? paddedChannelConstant(v.shape as number[], data, blockedReaders.get(v)!) : undefined;
    if (padded) ({ layout, data } = padded);
    const b: ProgramBuffer = { name: uniq(`${role === 'weight' ? 'w' : role === 'input' ? 'in' : role === 'output' ? 'out' : 't'}_${v.name}`), dtype: role === 'weight' && data ? weightStorage(data, st) : st, shape: layout ? physicalShapeOf(layout) : bound?.shape ?? (v.shape as number[]).slice(), scope: 'global', role, value: v.name, ...(layout ? { layout } : {}) };
    if (bound) b.extent = { dim: bound.dim, buffer: bound.buffer ?? '' };
    if (data) b.data = data;
    bufOf.set(v, b);
    return b;
  };
  const prog: Program = { name: g.name, sources: new Map(), schedules: new Map(), inputs: [], outputs: [], weights: [], temps: [], kernels: [], steps: [] };
  for (const v of g.inputs) prog.inputs.push(mk(v, 'input'));
  const outputs = new Set(g.outputs);
  const usedConsts = new Set<Value>();
  for (const n of g.nodes) for (const v of n.inputs) if (v?.const) usedConsts.add(v);
  for (const v of g.constants) if (usedConsts.has(v) || outputs.has(v)) prog.weights.push(mk(v, 'weight'));

  const controlCtx: ControlCtx = {
    target, bufOf,
    newBuffer: (v, role) => { const b = mk(v, role); (role === 'weight' ? prog.weights : prog.temps).push(b); return b; },
    scratch: (like) => { const b: ProgramBuffer = { ...like, name: uniq(`${like.name}_stage`), role: 'temp', value: `${like.value}:stage`, data: undefined }; prog.temps.push(b); return b; },
    lowerKernel: (node, idx) => { const { source, args } = lowerNode(node, idx, bufOf, target); return { kernel: realizeKernel(source, []), args }; },
  };
  g.nodes.forEach((node, idx) => {
    reportProgress('lowering', idx, g.nodes.length, node.label);
    refineControlShapes(node, target.name);
    checkConsumer(node, bufOf, target.name);
    for (const o of node.outputs) {
      if (!o.name && !isStatic(o.shape)) continue; // an omitted optional output of unknown shape
      const b = mk(o, outputs.has(o) ? 'output' : 'temp');
      (outputs.has(o) ? prog.outputs : prog.temps).push(b);
    }
    const extent = extentBuffer(node, bufOf, uniq);
    if (extent) (extent.role === 'output' ? prog.outputs : prog.temps).push(extent);
    if (isControl(node)) { // If / Loop / Scan: one kernel wrapping its subgraphs' (lower/control.ts)
      const { kernel, args } = lowerControl(node, idx, controlCtx, extent);
      prog.kernels.push(kernel);
      if (target.gpu) { prog.sources.set(kernel.name, controlSource(kernel, node)); prog.schedules.set(kernel.name, []); }
      prog.steps.push({ kernel: kernel.name, args, node: node.label, op: node.op, loc: nodeLocation(node) });
      return;
    }
    const { source, args } = lowerNode(node, idx, bufOf, target, extent, (n) => [...prog.outputs, ...prog.temps].find((b) => b.name === n));
    const kernel = realizeKernel(source, []);
    prog.sources.set(kernel.name, source);
    prog.schedules.set(kernel.name, []);
    prog.kernels.push(kernel);
    prog.steps.push({ kernel: kernel.name, args, node: node.label, op: node.op, loc: nodeLocation(node) });
  });
  reportProgress('lowering', g.nodes.length, g.nodes.length);
  // graph outputs that are inputs or constants themselves: copy
  g.outputs.forEach((v) => {
    if (prog.outputs.some((b) => b.value === v.name && bufOf.get(v) === b)) return;
    const src = bufOf.get(v);
    if (!src) throw diag.unsupportedFeature(`graph output '${v.name}' is not computed by any node`);
    const dst: ProgramBuffer = { ...src, name: uniq(`out_${v.name}`), role: 'output', data: undefined, dtype: scalarTypeOf(v.dtype)! };
    prog.outputs.push(dst);
    const k = copyKernel(`copy_${dst.name}`, src, dst);
    prog.kernels.push(k);
    prog.steps.push({ kernel: k.name, args: [src.name, dst.name], node: `output ${v.name}` });
  });
  // order outputs as the graph declares them
  extentsAsOutputs(prog);
  const order = (b: ProgramBuffer) => { const i = g.outputs.findIndex((v) => v.name === b.value); return i < 0 ? g.outputs.length : i; }; // extents last
  prog.outputs.sort((a, b) => order(a) - order(b));
  notifyLowered(prog);
  return prog;
}

function copyKernel(name: string, src: Buffer, dst: Buffer): Kernel {
  const a: Buffer = { ...src, name: 'in0', role: 'input' }, b: Buffer = { ...dst, name: 'out0', role: 'output' };
  const n = numel(src.shape);
  return { name, params: [a, b], body: S.for('i', n, S.store('out0', E.v('i'), E.load('in0', E.v('i'), computeT(src.dtype)))) };
}

/**
 * Realize a kernel under a schedule: each directive applies to the compute stage that owns the loop
 * it names. Throws ScheduleError when a directive does not apply.
 */
export function realizeKernel(src: KernelSource, dirs: Directive[]): Kernel {
  // `algorithm` and `accumulate` were applied to the source already (codegen/schedule/algorithms,
  // float-sum.ts); `pad-copy` applies to the realized kernel (the target's finish step: pad-planes.ts)
  const k = realizeKernel0(src, dirs.filter((d) => !isKernelLevel(d)));
  // runtime checks that do not change inside a loop run once before it; (o*B + i) / B -> o for
  // split blocked axes (layouts, packed weights); 16-bit float buffers legalized (half.ts)
  return legalizeHalf({ ...k, body: simplifyDivMod(hoistChecks(k.body, src.fresh)) });
}
function realizeKernel0(src: KernelSource, dirs: Directive[]): Kernel {
  // inline / compute-at act on the stage list (packages/loop-ir/src/stages.ts)
  if (dirs.some(isStageDirective)) return realizeStages(src, dirs);
  const states = new Map<number, AxisState>();
  src.stages.forEach((st, i) => { if (st.kind === 'compute') states.set(i, initialState(st)); });
  for (const d of dirs) {
    const axis = directiveLoop(d);
    const owner = [...states.entries()].find(([, s]) => s.leaves.some((l) => l.name === axis));
    if (!owner) throw new ScheduleError(`kernel ${src.name}: no loop '${axis}' (loops: ${[...states.values()].flatMap((s) => s.leaves.map((l) => l.name)).join(', ') || 'none'})`);
    states.set(owner[0], applyDirective(owner[1], d));
  }
  let body: Stmt = S.seq(...src.stages.map((st, i) => (st.kind === 'compute' ? realizeStage(st, states.get(i)!, src.fresh, [...src.params, ...src.temps]) : simplifyStmt(st.body))));
  for (const t of src.temps.slice().reverse()) body = S.alloc(t, body);
  return { name: src.name, params: src.params, body };
}

/** Re-realize every kernel of a program with the given schedules (kernels not listed keep theirs). */
export function rescheduleProgram(prog: Program, schedules: Map<string, Directive[]>): void {
  prog.kernels = prog.kernels.map((k, i) => {
    reportProgress('realizing schedules', i, prog.kernels.length, k.name);
    const dirs = schedules.get(k.name);
    const src = prog.sources.get(k.name);
    if (!dirs || !src) return k;
    const nk = realizeKernel(src, dirs);
    prog.schedules.set(k.name, dirs);
    return nk;
  });
  reportProgress('realizing schedules', prog.kernels.length, prog.kernels.length);
}

function lowerNode(node: Node, idx: number, bufOf: Map<Value, ProgramBuffer>, target: TargetCaps, extent?: ProgramBuffer,
  buffer: (name: string) => ProgramBuffer | undefined = () => undefined): { source: KernelSource; args: string[] } {
  const loc = nodeLocation(node);
  const def = getOp(node.op, node.domain);
  if (!def) throw diag.unsupportedOp({ op: node.op, domain: node.domain }, loc);
  if (!def.lower) throw diag.unsupportedFeature(`op ${node.domain ? node.domain + '.' : ''}${node.op} has no compute definition yet (target ${target.name})`, loc);
  let counter = 0;
  const names = new Set<string>();
  const fresh = (p: string) => { let n: string; do n = `${p}${counter++}`; while (names.has(n)); names.add(n); return n; };
  const params: Buffer[] = [];
  const args: string[] = [];
  const bind = (v: Value | null, role: BufferRole, i: number, extentBuf?: ProgramBuffer): TensorRef | undefined => {
    if (!v && !extentBuf) return undefined;
    const pb = extentBuf ?? bufOf.get(v!);
    if (!pb) throw diag.unsupportedFeature(`value '${v!.name}' has no buffer (not a tensor, or defined in an enclosing scope)`, loc);
    const local: Buffer = { name: extentBuf ? (role === 'output' ? 'extent' : `extent_in${i}`) : `${role === 'output' ? 'out' : 'in'}${i}`, dtype: pb.dtype, shape: pb.shape, scope: 'global', role: role === 'output' ? 'output' : pb.role === 'weight' ? 'weight' : 'input', ...(pb.layout ? { layout: pb.layout } : {}) };
    const existing = params.find((p) => args[params.indexOf(p)] === pb.name && p.role !== 'output');
    if (existing && role !== 'output') return tensorRef(existing);
    params.push(local);
    args.push(pb.name);
    names.add(local.name);
    return tensorRef(local);
  };
  // bounded inputs with the run-time dim not first are read by their extent (lower/dynamic.ts); Identity copies them as they lie
  const inputs = node.inputs.map((v, i) => {
    const r = bind(v, 'input', i), e = v ? bufOf.get(v)?.extent : undefined;
    return r && e && e.dim !== 0 && node.op !== 'Identity' ? boundedInput(r, e.dim, bind(null, 'input', i, buffer(e.buffer))!) : r;
  });
  const outputs = node.outputs.map((v, i) => bind(bufOf.has(v) ? v : null, 'output', i) ?? tensorRef({ name: fresh('unused'), dtype: 'f32', shape: [1], scope: 'local', role: 'scratch' }));
  const extentRef = extent ? bind(null, 'output', 0, extent) : undefined;
  const stages: Stage[] = [];
  const temps: Buffer[] = [];
  const ctx: LowerCtx = {
    extent: extentRef,
    node,
    attrs: makeAttrReader(def, node.attrs, loc),
    inputs,
    outputs,
    constValue: (i) => node.inputs[i]?.const,
    target,
    fresh,
    compute(o, f) {
      const out = outputs[o];
      const axes = out.shape.map(() => fresh('i'));
      stages.push({ kind: 'compute', out: out.buf, axes, body: f(axes.map((a) => E.v(a))) });
    },
    computeTemp(t, f) {
      const axes = t.shape.map(() => fresh('i'));
      stages.push({ kind: 'compute', out: t.buf, axes, body: f(axes.map((a) => E.v(a))) });
    },
        extern(outs, body) { stages.push({ kind: 'extern', outs: [...outs.map((o) => outputs[o].buf), ...(extentRef ? [extentRef.buf] : [])], body }); },
    temp(prefix, dtype, shape) {
      const b: Buffer = { name: fresh(prefix), dtype, shape, scope: 'local', role: 'scratch' };
      temps.push(b);
      return tensorRef(b);
    },
    unsupported(why) { throw diag.unsupportedFeature(`${node.op} on target ${target.name}: ${why}`, loc); },
  };
  try {
    def.lower(ctx);
    // bounded outputs: zeros past the run-time extent
    if (extentRef) node.outputs.forEach((v, o) => { const b = bufOf.get(v); if (b?.extent) stages.push({ kind: 'extern', outs: [outputs[o]!.buf], body: zeroTail(outputs[o]!, b.extent.dim, extentRef, fresh('tail')) }); });
    // outputs sharing an input's run-time extent away from dim 0 (Transpose): made compact (lower/dynamic.ts)
    else node.outputs.forEach((v, o) => {
      const b = bufOf.get(v), eb = b?.extent && b.extent.dim !== 0 && node.op !== 'Identity' ? buffer(b.extent.buffer) : undefined;
      if (eb) stages.push({ kind: 'extern', outs: [outputs[o]!.buf], body: compactAfter(outputs[o]!, b!.extent!.dim, bind(null, 'input', node.inputs.length + o, eb)!, fresh) });
    });
  } catch (e) {
    if (e instanceof AicError) throw e;
    throw diag.runtime(`lowering ${node.op}`, (e as Error).message, loc);
  }
  const name = `k${idx}_${node.op.toLowerCase()}`;
  return { source: { name, op: node.op, domain: node.domain, params, stages, temps, node: node.label, graphNode: node, fresh }, args };
}

export type { Expr };
