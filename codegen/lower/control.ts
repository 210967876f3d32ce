/**
 * If, Loop and Scan in a Program: one kernel per control node. Every node of its subgraphs lowers to a
 * kernel like any node (its compute definition, realized without a schedule), and that kernel's body
 * is inlined, its params renamed to the program buffers it binds; the control node's kernel wraps the
 * bodies in the control structure (an `if` on the condition; a loop whose carried values are copied
 * back after each iteration and whose scan outputs are written at an offset per iteration).
 * Subgraph values get program buffers (temps, weights), so outer-scope values are read where they
 * live and the memory planner keeps everything a subgraph touches alive over the whole node.
 * Shapes inside subgraphs must be static (AIC0390/AIC0391 otherwise).
 */
import { diag, isStatic, nodeLocation, type Graph, type Location, type Node, type Value } from '@aic/core';
import { getOp, makeAttrReader, type AttrReader, type TargetCaps } from '@aic/ir-spec';
import { CONTROL_OPS, isControl, refineControlShapes, shapeText } from './control-shapes.ts';
import { CHECK_LOOP_ROWS, E, S, computeT, mapStmt, numel, tensorRef, type Buffer, type BufferRole, type Expr, type Kernel, type Stmt } from '@aic/loop-ir';
import type { KernelSource, ProgramBuffer } from './program.ts';
import { zeroTail } from './dynamic.ts';

export { CONTROL_OPS, isControl, refineControlShapes };

/** What lowering a control node needs from the program being built (codegen/lower/program.ts). */
export interface ControlCtx {
  target: TargetCaps;
  bufOf: Map<Value, ProgramBuffer>;
  /** a program buffer for a value, recorded in the program (temps, weights) */
  newBuffer: (v: Value, role: 'temp' | 'weight') => ProgramBuffer;
  /** a program temp with no value of its own (staging copies) */
  scratch: (like: ProgramBuffer) => ProgramBuffer;
  /** a (non-control) node's kernel, realized without a schedule, and the program buffers its params bind */
  lowerKernel: (node: Node, idx: number) => { kernel: Kernel; args: string[] };
}

/** Lower control node `node` to one kernel; `args` are the program buffers bound to its params, in order. */
export function lowerControl(node: Node, idx: number, cx: ControlCtx, extent?: ProgramBuffer): { kernel: Kernel; args: string[] } {
  const b = new Builder(cx, extent);
  const body = b.control(node);
  const params: Buffer[] = [...b.used.entries()].map(([name, { pb, written }]) => ({
    name, dtype: pb.dtype, shape: pb.shape, scope: 'global', role: (written ? 'output' : pb.role === 'weight' ? 'weight' : 'input') as BufferRole,
    ...(pb.layout ? { layout: pb.layout } : {}),
  }));
  return { kernel: { name: `k${idx}_${node.op.toLowerCase()}`, params, body }, args: params.map((p) => p.name) };
}

/**
 * The kernel as a source of one imperative stage, for GPU targets: WGSL runs an extern stage as a
 * single invocation (codegen/wgsl/render.ts), so the control node and its subgraphs run serially on
 * the device, with no read-back. (Host-side control, with each subgraph kernel dispatched in
 * parallel, is not built yet.)
 */
export function controlSource(k: Kernel, node: Node): KernelSource {
  let n = 0;
  return {
    name: k.name, op: node.op, domain: node.domain, params: k.params, temps: [], node: node.label, graphNode: node, fresh: (p) => `${p}_s${n++}`,
    stages: [{ kind: 'extern', outs: k.params.filter((p) => p.role === 'output'), body: k.body }],
  };
}


class Builder {
  used = new Map<string, { pb: ProgramBuffer; written: boolean }>();
  private inlined = 0;
  /** `extent`: where a Loop whose condition stops it early stores how many iterations ran (its scan outputs are bounds) */
  constructor(private cx: ControlCtx, private extent?: ProgramBuffer) {}

  private use(pb: ProgramBuffer, written = false): string {
    const u = this.used.get(pb.name);
    if (u) u.written ||= written;
    else this.used.set(pb.name, { pb, written });
    return pb.name;
  }

  /** The buffer of a value read inside a subgraph (outer-scope constants get theirs on first use). */
  private buf(v: Value, at: Node): ProgramBuffer {
    const have = this.cx.bufOf.get(v);
    if (have) return have;
    if (v.const) return this.cx.newBuffer(v, 'weight');
    throw diag.controlUnsupported(`${at.op} '${at.label}'`, `value '${v.name}' has no buffer (not a tensor)`, this.cx.target.name, nodeLocation(at));
  }

  private staticShape(v: Value, ctl: Node): number[] {
    if (!isStatic(v.shape)) throw diag.controlDynamicShape(`${ctl.op} '${ctl.label}'`, v.name, shapeText(v.shape), this.cx.target.name, nodeLocation(ctl));
    return v.shape as number[];
  }

  /** A subgraph value's own buffer (a body input, or a node output inside the subgraph). */
  private define(v: Value, ctl: Node): ProgramBuffer {
    this.staticShape(v, ctl);
    return this.cx.bufOf.get(v) ?? this.cx.newBuffer(v, 'temp');
  }

  /** The statements computing subgraph g's nodes, in order. */
  private graph(g: Graph, ctl: Node): Stmt {
    const out: Stmt[] = [];
    for (const n of g.nodes) {
      for (const v of n.inputs) if (v) this.use(this.buf(v, n));
      refineControlShapes(n, this.cx.target.name);
      for (const o of n.outputs) if (o.name || isStatic(o.shape)) this.use(this.define(o, ctl), true);
      if (isControl(n)) { out.push(this.control(n)); continue; }
      const { kernel, args } = this.cx.lowerKernel(n, this.inlined);
      out.push(this.inline(kernel, args));
    }
    return S.seq(...out);
  }

  /** A kernel's body with its params renamed to program buffers and its own names made unique. */
  private inline(k: Kernel, args: string[]): Stmt {
    const pre = `c${this.inlined++}_`;
    const bufs = new Map(k.params.map((p, i) => [p.name, args[i]!]));
    k.params.forEach((p, i) => { if (p.role === 'output') this.used.get(args[i]!)!.written = true; });
    const rb = (n: string) => bufs.get(n) ?? pre + n;
    return mapStmt(k.body, (e) => (e.k === 'var' ? { ...e, name: pre + e.name } : e.k === 'load' ? { ...e, buf: rb(e.buf) } : e), (s) => {
      switch (s.k) {
        case 'for': return { ...s, v: pre + s.v };
        case 'let': return { ...s, v: pre + s.v };
        case 'store': return { ...s, buf: rb(s.buf) };
        case 'alloc': return { ...s, buf: { ...s.buf, name: pre + s.buf.name } };
        default: return s;
      }
    });
  }

  /** dst[dOff + j] = src[sOff + j] for j < n */
  private copy(dst: ProgramBuffer, dOff: Expr, src: ProgramBuffer, sOff: Expr, n: number): Stmt {
    if (dst.name === src.name) return S.seq();
    this.use(src); this.use(dst, true);
    const j = `c${this.inlined++}_j`;
    return S.for(j, n, S.store(dst.name, E.add(dOff, E.v(j)), E.cast(E.load(src.name, E.add(sOff, E.v(j)), computeT(src.dtype)), computeT(dst.dtype))));
  }
  private copyAll(dst: ProgramBuffer, src: ProgramBuffer): Stmt { return this.copy(dst, E.i(0), src, E.i(0), numel(dst.shape)); }

  /**
   * Copies of `srcs` into `dsts` that may overlap (a body output may be another carried body input):
   * those reading a destination go through staging buffers first.
   */
  private copyCarried(dsts: ProgramBuffer[], srcs: ProgramBuffer[]): Stmt {
    const dstNames = new Set(dsts.map((d) => d.name));
    const staged = srcs.map((s, i) => (s.name !== dsts[i]!.name && dstNames.has(s.name) ? this.cx.scratch(s) : s));
    return S.seq(
      ...staged.map((s, i) => (s === srcs[i] ? S.seq() : this.copyAll(s, srcs[i]!))),
      ...dsts.map((d, i) => this.copyAll(d, staged[i]!)),
    );
  }

  private sameShape(ctl: Node, what: string, a: Value, b: readonly number[]): void {
    const sa = this.staticShape(a, ctl);
    if (sa.length !== b.length || sa.some((d, i) => d !== b[i])) {
      throw diag.controlShapeChanges(`${ctl.op} '${ctl.label}'`, what, shapeText(sa), shapeText(b), this.cx.target.name, nodeLocation(ctl));
    }
  }

  private attrs(n: Node): AttrReader { return makeAttrReader(getOp(n.op, n.domain)!, n.attrs, nodeLocation(n)); }

  control(n: Node): Stmt {
    const loc = nodeLocation(n);
    switch (n.op) {
      case 'If': return this.ifNode(n);
      case 'Loop': return this.loopNode(n, loc);
      default: return this.scanNode(n, loc);
    }
  }

  private outBuf(n: Node, i: number): ProgramBuffer | undefined {
    const o = n.outputs[i];
    return o ? this.cx.bufOf.get(o) : undefined;
  }

  private ifNode(n: Node): Stmt {
    const a = this.attrs(n);
    const cond = this.use(this.buf(n.inputs[0]!, n));
    const branch = (g: Graph) => {
      const body = this.graph(g, n);
      const copies = n.outputs.map((o, i) => {
        const dst = this.outBuf(n, i);
        const v = g.outputs[i];
        if (!dst || !v) return S.seq();
        this.sameShape(n, `output ${i} ('${o.name}') of its branches`, v, dst.shape);
        return this.copyAll(dst, this.buf(v, n));
      });
      return S.seq(body, ...copies);
    };
    return S.if(E.bin('ne', E.load(cond, E.i(0), 'bool'), E.c(0, 'bool')), branch(a.graph('then_branch')), branch(a.graph('else_branch')));
  }

  /** Loop: carried values live in the node's output buffers (or temps), copied back after each iteration. */
  private loopNode(n: Node, loc: Location): Stmt {
    const g = this.attrs(n).graph('body');
    const label = `Loop '${n.label}'`;
    const nCarried = Math.max(0, n.inputs.length - 2);
    const nScan = g.outputs.length - 1 - nCarried;
    const M = n.inputs[0] ? this.buf(n.inputs[0], n) : undefined;
    const C = n.inputs[1] ? this.buf(n.inputs[1], n) : undefined;
    if (!M && !C) throw diag.controlUnsupported(label, 'a Loop without a trip count or a condition (never terminates)', this.cx.target.name, loc);
    const iterB = this.define(g.inputs[0]!, n), condB = this.define(g.inputs[1]!, n);
    this.use(iterB, true); this.use(condB, true);
    const carried: ProgramBuffer[] = [];
    const init: Stmt[] = [], after: Stmt[] = [];
    for (let i = 0; i < nCarried; i++) {
      const bodyIn = g.inputs[2 + i]!, v0 = n.inputs[2 + i];
      const shape = this.staticShape(bodyIn, n);
      if (!v0) throw diag.controlUnsupported(label, `loop-carried value ${i} has no initial value`, this.cx.target.name, loc);
      this.sameShape(n, `loop-carried value ${i} ('${bodyIn.name}'), initial value and body input`, v0, shape);
      this.sameShape(n, `loop-carried value ${i} ('${bodyIn.name}'), body input and body output`, g.outputs[1 + i]!, shape);
      const out = this.outBuf(n, i);
      if (out && !this.cx.bufOf.has(bodyIn)) this.cx.bufOf.set(bodyIn, out);
      const cb = this.define(bodyIn, n);
      this.use(cb, true);
      carried.push(cb);
      init.push(this.copyAll(cb, this.buf(v0, n)));
    }
    const body = this.graph(g, n);
    const p = `c${this.inlined++}_`, it = E.v(`${p}it`);
    const step: Stmt[] = [S.store(iterB.name, E.i(0), E.cast(it, 'i64')), body];
    if (C) step.push(S.store(condB.name, E.i(0), E.load(this.use(this.buf(g.outputs[0]!, n)), E.i(0), 'bool')));
    step.push(this.copyCarried(carried, carried.map((_, i) => this.buf(g.outputs[1 + i]!, n))));
    for (let j = 0; j < nScan; j++) {
      const dst = this.outBuf(n, nCarried + j);
      const v = g.outputs[1 + nCarried + j]!;
      const sh = this.staticShape(v, n);
      if (!dst) continue;
      if (!dst.extent) this.sameShape(n, `scan output ${j} ('${v.name}')`, n.outputs[nCarried + j]!, [dst.shape[0]!, ...sh]);
      else if (numel(dst.shape.slice(1)) !== numel(sh)) throw diag.controlShapeChanges(`Loop '${n.label}'`, `scan output ${j} ('${v.name}')`, shapeText(sh), shapeText(dst.shape.slice(1)), this.cx.target.name, loc);
      const per = numel(sh);
      step.push(this.copy(dst, E.mul(E.call('check_index', it, E.i(dst.shape[0]!)), E.i(per)), this.buf(v, n), E.i(0), per));
    }
    // a loop that may stop before its scan outputs' declared length fails the run (rows would be stale),
    // unless they are bounds (lower/dynamic.ts): then the run stores how many iterations ran and zeros the rest
    const K = n.outputs.slice(nCarried).map((o) => this.cx.bufOf.get(o)?.shape[0]).find((d) => d !== undefined);
    const ran = E.add(E.cast(E.load(iterB.name, E.i(0), 'i64'), 'i32'), E.i(1));
    const ref = (pb: ProgramBuffer) => tensorRef({ name: this.use(pb, true), dtype: pb.dtype, shape: pb.shape, scope: 'global', role: 'output' });
    if (K !== undefined && this.extent) {
      init.push(S.store(iterB.name, E.i(0), E.c(-1, 'i64')));
      after.push(S.store(this.use(this.extent, true), E.i(0), ran));
      for (const o of n.outputs.slice(nCarried)) {
        const dst = this.cx.bufOf.get(o);
        if (dst?.extent) after.push(zeroTail(ref(dst), 0, ref(this.extent), `c${this.inlined++}_z`));
      }
    } else if (K !== undefined && (C || !M!.data)) {
      init.push(S.store(iterB.name, E.i(0), E.c(-1, 'i64')));
      after.push(S.store(iterB.name, E.i(0), E.cast(E.call('check_range', E.sub(E.i(K), ran), E.i(1), E.i(CHECK_LOOP_ROWS)), 'i64')));
    }
    if (!C) {
      // a trip count only: a counted loop (the body's condition is ignored, as the reference does)
      const m = E.load(this.use(M!), E.i(0), M!.dtype);
      const ext = E.cast(E.max(E.min(m, E.c(2 ** 31 - 1, M!.dtype)), E.c(0, M!.dtype)), 'i32');
      return S.seq(...init, S.store(condB.name, E.i(0), E.c(1, 'bool')), S.for(`${p}it`, ext, S.seq(...step)), ...after);
    }
    // a condition: 2^15 x 2^16 iterations at most, each skipped once the condition is false
    const flag = E.bin('ne', E.load(condB.name, E.i(0), 'bool'), E.c(0, 'bool'));
    let inner: Stmt = S.seq(...step);
    if (M) {
      const m = E.load(this.use(M), E.i(0), M.dtype);
      inner = S.if(E.lt(E.cast(it, M.dtype), m), inner, S.store(condB.name, E.i(0), E.c(0, 'bool')));
    }
    return S.seq(...init, S.store(condB.name, E.i(0), E.load(this.use(C), E.i(0), 'bool')),
      S.for(`${p}ita`, 1 << 15, S.if(flag, S.for(`${p}itb`, 1 << 16, S.if(flag, S.let(`${p}it`, 'i32', E.add(E.mul(E.v(`${p}ita`), E.i(1 << 16)), E.v(`${p}itb`)), inner))))), ...after);
  }

  /** Scan (opset 9+) and Scan-8 (leading batch axis): states in temps, one slice per scan input per step. */
  private scanNode(n: Node, loc: Location): Stmt {
    const a = this.attrs(n);
    const g = a.graph('body');
    const label = `${n.op} '${n.label}'`;
    const batch = n.op === 'Scan8';
    const ins = batch ? n.inputs.slice(1) : n.inputs;
    if (batch && n.inputs[0] && !n.inputs[0].const) throw diag.controlUnsupported(label, 'Scan-8 with a sequence_lens input that is not a constant', this.cx.target.name, loc);
    const m = a.int('num_scan_inputs');
    const nState = ins.length - m;
    const nScanOut = g.outputs.length - nState;
    const list = (name: string, len: number) => (a.has(name) ? a.ints(name) : new Array<number>(len).fill(0));
    const inAxes = batch ? new Array<number>(m).fill(0) : list('scan_input_axes', m);
    const inDirs = batch ? (a.has('directions') ? a.ints('directions') : new Array<number>(m).fill(0)) : list('scan_input_directions', m);
    const outAxes = batch ? new Array<number>(nScanOut).fill(0) : list('scan_output_axes', nScanOut);
    const outDirs = batch ? new Array<number>(nScanOut).fill(0) : list('scan_output_directions', nScanOut);
    const inBufs = ins.map((v) => { if (!v) throw diag.controlUnsupported(label, 'an omitted input', this.cx.target.name, loc); this.staticShape(v, n); return this.buf(v, n); });
    const B = batch ? inBufs[0]!.shape[0]! : 1;
    const drop = (s: readonly number[]) => (batch ? s.slice(1) : s.slice());
    const scanShape = (i: number) => drop(inBufs[nState + i]!.shape);
    const L = m ? scanShape(0)[((inAxes[0]! % scanShape(0).length) + scanShape(0).length) % scanShape(0).length]! : 0;
    if (batch && n.inputs[0]?.const && n.inputs[0].const.toNumbers().some((v) => v !== L)) {
      throw diag.controlUnsupported(label, 'Scan-8 with sequence_lens shorter than the sequence axis', this.cx.target.name, loc);
    }
    const p = `c${this.inlined++}_`, bv = E.v(`${p}sb`), t = E.v(`${p}st`);
    // slice `pos` along `axis` of a per-batch tensor of shape `sh` (batch b at offset b * numel(sh))
    const slice = (sh: number[], axis: number, pos: Expr, dst: ProgramBuffer, src: ProgramBuffer, into: boolean): Stmt => {
      const ax = ((axis % sh.length) + sh.length) % sh.length;
      const outer = numel(sh.slice(0, ax)), inner = numel(sh.slice(ax + 1)), len = sh[ax]!;
      const o = `c${this.inlined++}_o`;
      const full = E.add(E.mul(bv, E.i(numel(sh))), E.mul(E.add(E.mul(E.v(o), E.i(len)), pos), E.i(inner)));
      const part = E.mul(E.v(o), E.i(inner));
      return S.for(o, outer, into ? this.copy(dst, full, src, part, inner) : this.copy(dst, part, src, full, inner));
    };
    const states: ProgramBuffer[] = [];
    const init: Stmt[] = [], fin: Stmt[] = [];
    for (let i = 0; i < nState; i++) {
      const bodyIn = g.inputs[i]!, sh = drop(inBufs[i]!.shape);
      this.sameShape(n, `state ${i} ('${bodyIn.name}'), initial value and body input`, bodyIn, sh);
      this.sameShape(n, `state ${i} ('${bodyIn.name}'), body input and body output`, g.outputs[i]!, sh);
      const sb = this.define(bodyIn, n);
      this.use(sb, true);
      states.push(sb);
      init.push(this.copy(sb, E.i(0), inBufs[i]!, E.mul(bv, E.i(numel(sh))), numel(sh)));
      const out = this.outBuf(n, i);
      if (out) fin.push(this.copy(out, E.mul(bv, E.i(numel(sh))), sb, E.i(0), numel(sh)));
    }
    const step: Stmt[] = [];
    for (let i = 0; i < m; i++) {
      const bodyIn = g.inputs[nState + i]!, sh = scanShape(i);
      const ax = ((inAxes[i]! % sh.length) + sh.length) % sh.length;
      if (sh[ax] !== L) throw diag.controlShapeChanges(label, 'the sequence length of its scan inputs', String(L), String(sh[ax]), this.cx.target.name, loc);
      this.sameShape(n, `scan input ${i} ('${bodyIn.name}'), one slice`, bodyIn, [...sh.slice(0, ax), ...sh.slice(ax + 1)]);
      const eb = this.define(bodyIn, n);
      step.push(slice(sh, ax, inDirs[i] ? E.sub(E.i(L - 1), t) : t, eb, inBufs[nState + i]!, false));
    }
    step.push(this.graph(g, n));
    step.push(this.copyCarried(states, states.map((_, i) => this.buf(g.outputs[i]!, n))));
    for (let j = 0; j < nScanOut; j++) {
      const dst = this.outBuf(n, nState + j);
      if (!dst) continue;
      const v = g.outputs[nState + j]!, per = this.staticShape(v, n);
      const sh = drop(dst.shape), ax = outAxes[j]!;
      if (numel(per) * L !== numel(sh)) throw diag.controlShapeChanges(label, `scan output ${j}`, shapeText(per), shapeText(sh), this.cx.target.name, loc);
      step.push(slice(sh, ax, outDirs[j] ? E.sub(E.i(L - 1), t) : t, dst, this.buf(v, n), true));
    }
    return S.for(`${p}sb`, B, S.seq(...init, S.for(`${p}st`, L, S.seq(...step)), ...fin));
  }
}
