/**
 * Sequences and optionals on compiled targets, where their structure is known before running: every
 * sequence's length and every optional's presence follow from the model and from the inputs given to
 * `aic run` (a sequence input of N tensors, an optional input present or empty, the If condition or
 * Loop trip count that decides them). The graph is rewritten (in place) into tensors only: a sequence
 * becomes its element tensors, an optional its value or nothing; Sequence* ops, Optional* ops and the
 * SequenceMap / If / Loop nodes that carry sequences are unrolled. Graph inputs and outputs that are
 * sequences become N tensors (`x_0`, `x_1`, ...); `pack` turns the run's outputs back into sequences.
 * A Loop whose body's shapes follow the iteration number (a Slice by `i`), or whose carried value grows
 * (tokens concatenated each step), is unrolled the same way, so each copy has static shapes. Data is never computed here: only structure (lengths, positions,
 * presence, trip counts) is read from constants and from the inputs that decide it.
 */
import { AicError, Graph, Node, Tensor, Value, diag, isStatic, nodeLocation, subgraphsOf, type RValue } from '@aic/core';
import { inferGraph, keepsCondition } from '@aic/ir-spec';
import { foldNodesWhere, uniqueNamer } from '@aic/passes';
import { shapeInputs } from './shape-inputs.ts';
import { appendOnly, appendsAsScans, iterationBound } from './loop-append.ts';
import { refineControlShapes } from './lower/control-shapes.ts';

/**
 * What a value is once its structure is known: one tensor, a sequence of tensors, an empty optional,
 * or a sequence a Loop built by appending one tensor (of rank `rank`) per iteration, which stays the
 * Loop's scan output `stacked` (its length may be known only when the model runs).
 */
type S = { t: Value } | { seq: Value[] } | { none: true } | { stacked: Value; rank: number };

const SEQ_OPS = new Set([
  'SequenceEmpty', 'SequenceConstruct', 'SequenceAt', 'SequenceInsert', 'SequenceErase', 'SequenceLength',
  'ConcatFromSequence', 'SplitToSequence', 'SequenceMap', 'Optional', 'OptionalHasElement', 'OptionalGetElement',
]);

/** Does this graph (or a subgraph of it) hold a sequence or optional value? */
function hasStructure(g: Graph): boolean {
  if ([...g.inputs, ...g.outputs].some((v) => v.kind !== 'tensor')) return true;
  return g.nodes.some((n) => SEQ_OPS.has(n.op) || n.outputs.some((o) => o.kind !== 'tensor') || iterationShaped(n) || carriedReshapes(n) || stoppedByData(n) || subgraphsOf(n).some(hasStructure));
}

/** A Loop with scan outputs whose body computes its condition: their length is bounded here (boundTrips). */
function stoppedByData(n: Node): boolean {
  const b = n.op === 'Loop' ? n.attrs['body']?.value as Graph | undefined : undefined;
  return !!b && !!n.inputs[1] && b.outputs.length - 1 - (n.inputs.length - 2) > 0 && !keepsCondition(b);
}

/**
 * A Loop with a carried value whose shape changes from one iteration to the next (tokens concatenated
 * each step), or may (its body output's shape is not static once the body input takes the initial
 * value's shape, as lowering gives it: refineControlShapes): unrolled.
 */
function carriedReshapes(n: Node): boolean {
  const b = n.op === 'Loop' ? n.attrs['body']?.value as Graph | undefined : undefined;
  if (!b || n.inputs.length <= 2) return false;
  try { refineControlShapes(n, 'any'); } catch (e) { return e instanceof AicError && e.code === 'AIC0391'; }
  return n.inputs.slice(2).some((v0, k) => {
    const bo = b.outputs[1 + k];
    return !!v0 && v0.kind === 'tensor' && isStatic(v0.shape) && !!bo && bo.kind === 'tensor' && (!isStatic(bo.shape) || bo.shape!.join(',') !== v0.shape!.join(','));
  });
}

/** A Loop whose body's shapes follow the iteration number (a Slice bound, a Reshape size...): unrolled. */
function iterationShaped(n: Node): boolean {
  const b = n.op === 'Loop' ? n.attrs['body']?.value as Graph | undefined : undefined;
  return !!b?.inputs[0] && shapeInputs(b).inputs.some((s) => s.input === b.inputs[0]);
}

/** The most iterations a Loop is unrolled to. */
const MAX_UNROLL = 1024;

export interface Expanded {
  /** the feeds of the rewritten graph (tensors only) */
  feeds: Map<string, RValue>;
  /** the run's outputs, with sequences and optionals put back together */
  pack: (outs: Map<string, RValue>) => Map<string, RValue>;
}

/** Rewrite g (in place) into tensors only; null when it has no sequence or optional value. */
export function expandSequences(g: Graph, feeds: Map<string, RValue>, note?: (s: string) => void): Expanded | null {
  if (!hasStructure(g)) return null;
  return new Expander(g, feeds, note).run();
}

class Expander {
  private env = new Map<Value, S>();
  private out: Node[] = [];
  private fresh: (base: string) => string;
  private feeds2 = new Map<string, RValue>();
  private inputs = new Set<Value>();
  private presence = new Set<Value>();

  constructor(private g: Graph, private feeds: Map<string, RValue>, private note?: (s: string) => void) {
    this.fresh = uniqueNamer(g);
  }

  run(): Expanded {
    const g = this.g;
    const newInputs: Value[] = [];
    for (const v of g.inputs) {
      const f = this.feeds.get(v.name);
      if (v.kind === 'tensor') {
        // the program is specialized for these feeds: symbolic dims take the given arrays' shapes
        if (f instanceof Tensor && v.shape?.length === f.rank && v.shape.some((d) => typeof d !== 'number')) v.type = { ...v.type, shape: f.shape.slice() };
        newInputs.push(v); this.inputs.add(v); if (f !== undefined) this.feeds2.set(v.name, f);
        continue;
      }
      if (f === undefined) throw diag.missingInput(v.name);
      if (f === null) { this.env.set(v, { none: true }); continue; }
      if (f instanceof Tensor) {
        if (v.kind === 'sequence') throw diag.badInputData(v.name, 'a sequence input was given a tensor');
        v.kind = 'tensor';
        newInputs.push(v); this.inputs.add(v); this.feeds2.set(v.name, f);
        continue;
      }
      const items = f.map((t, i) => {
        const e = new Value(this.fresh(`${v.name}_${i}`), { dtype: t.dtype, shape: t.shape.slice() });
        newInputs.push(e); this.inputs.add(e); this.feeds2.set(e.name, t);
        return e;
      });
      this.env.set(v, { seq: items });
    }
    g.inputs = newInputs;
    this.walk(g.nodes, false);
    const packs: { name: string; s: 'tensor' | 'none' | string[] }[] = [];
    const outs: Value[] = [];
    for (const o of g.outputs) {
      const s = this.get(o);
      if ('none' in s) { packs.push({ name: o.name, s: 'none' }); continue; }
      if ('stacked' in s) throw diag.unsupportedFeature(`graph output '${o.name}', a sequence built in a Loop (its elements stacked with ConcatFromSequence can be an output)`);
      if ('t' in s) {
        o.kind = 'tensor';
        if (s.t !== o) this.emitIdentity(s.t, o);
        outs.push(o); packs.push({ name: o.name, s: 'tensor' });
        continue;
      }
      const names = s.seq.map((e, i) => {
        const v = new Value(this.fresh(`${o.name}_${i}`), { dtype: e.dtype, shape: undefined });
        this.emitIdentity(e, v);
        outs.push(v);
        return v.name;
      });
      packs.push({ name: o.name, s: names });
    }
    g.outputs = outs;
    g.nodes = this.out;
    const consts = new Set(g.constants);
    for (const n of g.nodes) for (const v of n.inputs) if (v?.const && !consts.has(v)) { consts.add(v); g.constants.push(v); }
    for (const v of g.outputs) if (v.const && !consts.has(v)) { consts.add(v); g.constants.push(v); }
    for (const n of g.nodes) for (const o of n.outputs) o.producer = n;
    inferGraph(g);
    // model constants inside unrolled bodies, and the shape arithmetic on iteration numbers, become constants
    const chain = shapeInputs(g).chain;
    foldNodesWhere(g, (n) => n.op === 'Constant' || chain.has(n));
    for (const n of g.nodes) for (const o of n.outputs) o.producer = n;
    return {
      feeds: this.feeds2,
      pack: (r) => {
        const m = new Map<string, RValue>();
        for (const p of packs) {
          if (p.s === 'none') m.set(p.name, null);
          else if (p.s === 'tensor') m.set(p.name, r.get(p.name)!);
          else m.set(p.name, p.s.map((n) => r.get(n) as Tensor));
        }
        return m;
      },
    };
  }

  private get(v: Value): S {
    const s = this.env.get(v);
    if (s) return s;
    if (v.kind !== 'tensor') throw diag.unsupportedFeature(`${v.kind} value '${v.name}' whose structure is not known before running`);
    return { t: v };
  }

  private tensor(v: Value, n: Node): Value {
    const s = this.get(v);
    if ('t' in s) return s.t;
    throw diag.unsupportedFeature(`${n.op} '${n.label}' reads ${'seq' in s ? 'a sequence' : 'an empty optional'} '${v.name}' where a tensor is needed`, nodeLocation(n));
  }

  private seq(v: Value, n: Node): Value[] {
    const s = this.get(v);
    if ('seq' in s) return s.seq;
    if ('stacked' in s) throw diag.unsupportedFeature(`${n.op} '${n.label}' reads '${v.name}', a sequence built in a Loop whose length may be known only when the model runs (ConcatFromSequence with new_axis = 1 takes it)`, nodeLocation(n));
    throw diag.unsupportedFeature(`${n.op} '${n.label}' reads '${v.name}', not a sequence`, nodeLocation(n));
  }

  /** A structural constant (position, trip count, condition): a model constant or a bound graph input. */
  private int(v: Value | null | undefined, n: Node, what: string): number | undefined {
    if (!v) return undefined;
    const t = this.tensor(v, n);
    if (t.const) return Number(t.const.scalar());
    // a Constant node (not folded at -O0) is a model constant too
    const k = t.producer?.op === 'Constant' && !t.producer.domain ? t.producer.attrs['value'] : undefined;
    if (k?.type === 'tensor') return Number(k.value.scalar());
    const f = this.feeds2.get(t.name);
    if (this.inputs.has(t) && f instanceof Tensor) {
      // the structure depends on it: compiled as a constant, like a shape-deciding input
      this.g.inputs = this.g.inputs.filter((x) => x !== t);
      this.inputs.delete(t);
      this.feeds2.delete(t.name);
      t.const = f;
      this.g.constants.push(t);
      this.note?.(`input '${t.name}' decides the structure of a sequence or optional (${n.op} ${what}); it is compiled as a constant`);
      return Number(f.scalar());
    }
    const hint = this.inputs.has(t) ? `; bind the input with --const-input ${t.name}=FILE to compile it as a constant` : '';
    throw diag.unsupportedFeature(`${n.op} '${n.label}': its ${what} '${v.name}' is known only when the model runs, and it decides the structure of a sequence or optional${hint}`, nodeLocation(n));
  }

  private constValue(name: string, t: Tensor): Value {
    const v = new Value(this.fresh(name), { dtype: t.dtype, shape: t.shape.slice() });
    v.const = t;
    return v;
  }

  /** OptionalHasElement's answer (and its negation): known from the structure */
  private presenceValue(n: Node, has: boolean): Value {
    const v = this.constValue(`${n.outputs[0]!.name}_c`, Tensor.scalarOf('bool', has ? 1 : 0));
    this.presence.add(v);
    return v;
  }

  private emitIdentity(from: Value, to: Value): void {
    this.out.push(new Node({ op: 'Identity', name: this.fresh(`${to.name}_id`), inputs: [from], outputs: [to] }));
  }

  private emit(op: string, inputs: Value[], base: string, attrs: Node['attrs'] = {}): Value {
    const o = new Value(this.fresh(base), { dtype: inputs[0]!.dtype, shape: undefined });
    this.out.push(new Node({ op, name: this.fresh(`${base}_${op}`), inputs, outputs: [o], attrs }));
    return o;
  }

  /** Walk nodes in order; `clone`: the nodes belong to a body being unrolled (fresh values per copy). */
  private walk(nodes: Node[], clone: boolean): void {
    for (const n of nodes) this.node(n, clone);
  }

  private node(n: Node, clone: boolean): void {
    const loc = nodeLocation(n);
    const set = (s: S): void => { this.env.set(n.outputs[0]!, s); };
    const pos = (len: number, p: number | undefined, dflt: number, max: number) => {
      const q = p === undefined ? dflt : p < 0 ? p + len : p;
      if (q < 0 || q > max) throw diag.unsupportedFeature(`${n.op} '${n.label}': position ${p} out of range for a sequence of ${len}`, loc);
      return q;
    };
    switch (n.op) {
      case 'SequenceEmpty': return set({ seq: [] });
      case 'SequenceConstruct': return set({ seq: n.inputs.map((v) => this.tensor(v!, n)) });
      case 'SequenceAt': {
        const s = this.seq(n.inputs[0]!, n);
        return set({ t: s[pos(s.length, this.int(n.inputs[1], n, 'position'), 0, s.length - 1)]! });
      }
      case 'SequenceInsert': {
        const s = this.seq(n.inputs[0]!, n).slice();
        s.splice(pos(s.length, this.int(n.inputs[2], n, 'position'), s.length, s.length), 0, this.tensor(n.inputs[1]!, n));
        return set({ seq: s });
      }
      case 'SequenceErase': {
        const s = this.seq(n.inputs[0]!, n).slice();
        s.splice(pos(s.length, this.int(n.inputs[1], n, 'position'), s.length - 1, s.length - 1), 1);
        return set({ seq: s });
      }
      case 'SequenceLength':
        return set({ t: this.constValue(`${n.outputs[0]!.name}_len`, Tensor.scalarOf('int64', this.seq(n.inputs[0]!, n).length)) });
      case 'ConcatFromSequence': return set({ t: this.concat(n) });
      case 'Optional': return set(n.inputs[0] ? this.get(n.inputs[0]) : { none: true });
      case 'OptionalHasElement': {
        const s = n.inputs[0] ? this.get(n.inputs[0]) : { none: true as const };
        return set({ t: this.presenceValue(n, !('none' in s)) });
      }
      case 'OptionalGetElement': {
        const s = this.get(n.inputs[0]!);
        if ('none' in s) throw diag.unsupportedFeature(`OptionalGetElement '${n.label}' of an empty optional`, loc);
        return set(s);
      }
      case 'Identity': {
        const s = this.get(n.inputs[0]!);
        if (!('t' in s)) return set(s);
        break;
      }
      case 'Not': {
        // a presence test negated (OptionalHasElement -> Not -> If): structure, not data
        const x = this.tensor(n.inputs[0]!, n);
        if (this.presence.has(x)) return set({ t: this.presenceValue(n, !x.const!.scalar()) });
        break;
      }
      case 'SequenceMap': return this.sequenceMap(n);
      case 'If': if (clone || n.outputs.some((o) => o.kind !== 'tensor') || subgraphsOf(n).some(hasStructure)) return this.inlineIf(n);
        break;
      case 'Loop': {
        // a list appended to in the loop becomes a scan output (loop-append.ts)
        // (only when its condition is computed in its body: a loop that runs a known number of times is unrolled)
        const ks = keepsCondition(n.attrs['body']!.value as Graph) ? [] : appendOnly(n, (k) => { const s = n.inputs[2 + k] ? this.env.get(n.inputs[2 + k]!) : undefined; return !!s && 'seq' in s && !s.seq.length; });
        if (ks.length) {
          const b = n.attrs['body']!.value as Graph;
          for (const [o, sv] of appendsAsScans(n, ks, this.fresh)) this.env.set(o, { stacked: sv, rank: b.outputs[b.outputs.length - n.outputs.length + n.outputs.indexOf(sv)]!.shape!.length });
        }
        if (clone || n.outputs.some((o) => o.kind !== 'tensor') || iterationShaped(n) || carriedReshapes(n) || subgraphsOf(n).some(hasStructure)) return this.unrollLoop(n);
        if (ks.length || stoppedByData(n)) this.boundTrips(n);
        break;
      }
      case 'SplitToSequence':
        throw diag.unsupportedFeature(`SplitToSequence '${n.label}' on a compiled target (its output is a sequence whose length is not yet derived here)`, loc);
    }
    if (subgraphsOf(n).length && clone) throw diag.unsupportedFeature(`${n.op} '${n.label}' inside an unrolled sequence body`, loc);
    const ins = n.inputs.map((v) => (v ? this.tensor(v, n) : null));
    if (!clone) {
      n.inputs = ins;
      this.out.push(n);
      return;
    }
    const outs = n.outputs.map((o) => {
      const c = new Value(this.fresh(o.name), { dtype: o.dtype, shape: undefined });
      this.env.set(o, { t: c });
      return c;
    });
    this.out.push(new Node({ op: n.op, domain: n.domain, name: this.fresh(n.name || n.op), inputs: ins, outputs: outs, attrs: n.attrs, loc: n.loc }));
  }

  /**
   * A Loop kept as a loop whose condition is computed from data: its scan outputs are allocated for
   * the most iterations it can run (loop-append.ts), given as its trip count; the run stores how many
   * ran (lower/control.ts). The bound may come from an input `aic run` was given, compiled as a constant.
   */
  private boundTrips(n: Node): void {
    const b = n.attrs['body']!.value as Graph;
    if (!n.inputs[1] || b.outputs.length - 1 - (n.inputs.length - 2) <= 0) return;
    const soft = (v: Value): number | undefined => { try { return this.int(v, n, 'iteration bound'); } catch { return undefined; } };
    const most = iterationBound(n, soft);
    const M = n.inputs[0] ? soft(n.inputs[0]) : undefined;
    const K = most === undefined ? M : M === undefined ? most : Math.min(M, most);
    if (K === undefined || K === M) return;
    n.inputs[0] = this.constValue(`${n.label}_most_iterations`, Tensor.scalarOf('int64', K));
    this.note?.(`Loop '${n.label}' runs at most ${K} iterations (from its condition); its scan outputs are allocated for ${K} and cut to the iterations run`);
  }

  private concat(n: Node): Value {
    const st = this.get(n.inputs[0]!);
    if ('stacked' in st) return this.concatStacked(n, this.tensor(st.stacked, n), st.rank);
    const s = this.seq(n.inputs[0]!, n);
    if (!s.length) throw diag.unsupportedFeature(`ConcatFromSequence '${n.label}' of an empty sequence`, nodeLocation(n));
    const axis = n.attrs['axis']?.value as number;
    const newAxis = (n.attrs['new_axis']?.value as number | undefined) ?? 0;
    const base = n.outputs[0]!.name;
    let parts = s;
    if (newAxis) {
      const axes = this.constValue(`${base}_axes`, Tensor.fromNumbers('int64', [1], [axis]));
      parts = s.map((e) => this.emit('Unsqueeze', [e, axes], `${base}_u`));
    }
    return this.emit('Concat', parts, base, { axis: { type: 'int', value: axis } });
  }

  /** ConcatFromSequence of a sequence a Loop stacked along axis 0 (new_axis = 1): that axis moved to `axis`. */
  private concatStacked(n: Node, x: Value, rank: number): Value {
    const axis0 = n.attrs['axis']?.value as number;
    const newAxis = (n.attrs['new_axis']?.value as number | undefined) ?? 0;
    if (!newAxis) throw diag.unsupportedFeature(`ConcatFromSequence '${n.label}' without new_axis of a sequence built in a Loop (torch.stack-like concatenation is supported; along an existing axis not yet)`, nodeLocation(n));
    const axis = axis0 < 0 ? axis0 + rank + 1 : axis0;
    if (axis < 0 || axis > rank) throw diag.unsupportedFeature(`ConcatFromSequence '${n.label}': axis ${axis0} out of range for elements of rank ${rank}`, nodeLocation(n));
    const perm = Array.from({ length: rank + 1 }, (_, j) => (j < axis ? j + 1 : j === axis ? 0 : j));
    return this.emit(axis ? 'Transpose' : 'Identity', [x], n.outputs[0]!.name, axis ? { perm: { type: 'ints', value: perm } } : {});
  }

  /** Bind a body's inputs, unroll its nodes once, and read its outputs. */
  private body(b: Graph, given: S[]): S[] {
    b.inputs.forEach((v, i) => this.env.set(v, given[i]!));
    this.walk(b.nodes, true);
    return b.outputs.map((o) => this.get(o));
  }

  private sequenceMap(n: Node): void {
    const b = n.attrs['body']!.value as Graph;
    const ins = n.inputs.map((v) => this.get(v!));
    const len = (ins[0] as { seq: Value[] }).seq?.length;
    if (len === undefined) throw diag.unsupportedFeature(`SequenceMap '${n.label}' without a sequence input`, nodeLocation(n));
    const outs: Value[][] = n.outputs.map(() => []);
    for (let i = 0; i < len; i++) {
      const r = this.body(b, ins.map((s) => ('seq' in s ? { t: s.seq[i]! } : s)));
      r.forEach((s, k) => outs[k]!.push(this.tensorOf(s, n)));
    }
    n.outputs.forEach((o, k) => this.env.set(o, { seq: outs[k]! }));
  }

  private tensorOf(s: S, n: Node): Value {
    if ('t' in s) return s.t;
    throw diag.unsupportedFeature(`${n.op} '${n.label}': a body output that is not a tensor`, nodeLocation(n));
  }

  private inlineIf(n: Node): void {
    const c = this.int(n.inputs[0], n, 'condition');
    const b = n.attrs[c ? 'then_branch' : 'else_branch']!.value as Graph;
    const r = this.body(b, []);
    n.outputs.forEach((o, k) => this.env.set(o, r[k]!));
  }

  private unrollLoop(n: Node): void {
    const loc = nodeLocation(n);
    const b = n.attrs['body']!.value as Graph;
    const why = 'unrolled because it carries a sequence or optional, a value whose shape changes each iteration, or its shapes follow the iteration number';
    const M = this.int(n.inputs[0], n, 'trip count');
    const c0 = this.int(n.inputs[1], n, 'condition');
    const nCarried = n.inputs.length - 2;
    if (M === undefined) throw diag.unsupportedFeature(`Loop '${n.label}' without a trip count (${why})`, loc);
    // the body's condition must pass its input through (then the loop runs M times, or none)
    if (!keepsCondition(b)) {
      throw diag.unsupportedFeature(`Loop '${n.label}' whose condition is computed in its body (${why})`, loc);
    }
    const iters = c0 === undefined || c0 ? M : 0;
    if (iters > MAX_UNROLL) throw diag.unsupportedFeature(`Loop '${n.label}' with ${iters} iterations (${why}; at most ${MAX_UNROLL})`, loc);
    const nScan = b.outputs.length - 1 - nCarried;
    if (nScan > 0 && iters === 0) throw diag.unsupportedFeature(`Loop '${n.label}' with scan outputs and no iteration (${why})`, loc);
    let carried = n.inputs.slice(2).map((v) => this.get(v!));
    const scans: Value[][] = Array.from({ length: nScan }, () => []);
    const cond: S = n.inputs[1] ? this.get(n.inputs[1]) : { t: this.constValue(`${n.label}_cond`, Tensor.scalarOf('bool', 1)) };
    for (let i = 0; i < iters; i++) {
      const it = this.constValue(`${n.label}_iter${i}`, Tensor.scalarOf('int64', i));
      const r = this.body(b, [{ t: it }, cond, ...carried]);
      carried = r.slice(1, 1 + nCarried);
      r.slice(1 + nCarried).forEach((s, k) => scans[k]!.push(this.tensorOf(s, n)));
    }
    n.outputs.forEach((o, k) => this.env.set(o, k < nCarried ? carried[k]! : { t: this.stack(scans[k - nCarried]!, o.name) }));
  }

  /** Scan outputs: the per-iteration values stacked along a new first axis. */
  private stack(parts: Value[], base: string): Value {
    const axes = this.constValue(`${base}_axes`, Tensor.fromNumbers('int64', [1], [0]));
    return this.emit('Concat', parts.map((e) => this.emit('Unsqueeze', [e, axes], `${base}_u`)), base, { axis: { type: 'int', value: 0 } });
  }
}
