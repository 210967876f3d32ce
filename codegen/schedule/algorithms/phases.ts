/**
 * Strided convolution over stride phases ("direct-phases"): a conv with stride s > 1 along W reads
 * its (padded) input at s*ow + g(kw), so a vector over ow would be a gather. The input is copied once
 * into Xph [N, C, P0, F, Q], phase f holding the columns w = q*s + f (Q = ceil(P1 / s); F: every
 * phase some tap reads, or just the one), with the padding written as zeros in the same pass (it
 * replaces the conv's own padded copy). The conv then reads Xph[n, c, hp, f(kw), ow + g(kw) / s]
 * with f(kw) = g(kw) mod s: unit stride in ow, so the default schedule vectorizes over output columns
 * as for a stride-1 conv. The copy reads each row in vectors of the target's lanes (`lanes`; a
 * stride-2 vector read is two loads and a shuffle on C). The sum is the same, term by term and in
 * the same order: results are identical to direct.
 */
import { E, S, flatIndex, linearize, mapExpr, substitute, walkExpr, walkExprs, walkStmt, type Buffer, type ComputeStage, type Expr, type Stage, type Stmt } from '@aic/loop-ir';
import type { Program } from '../../lower/program.ts';
import { peelIndex } from '../pack.ts';
import { clampedBlocks } from '../copy-vectors.ts';
import type { ConvInfo } from './conv-info.ts';

type Load = Extract<Expr, { k: 'load' }>;

/** Can direct-phases compute this conv? (stride > 1 along W, an output row of at least 4 columns) */
export function phasesApplies(c: ConvInfo): boolean {
  return c.strides[1] > 1 && c.OW >= 4;
}

const uses = (e: Expr, v: string) => { let u = false; walkExpr(e, (x) => { if (x.k === 'var' && x.name === v) u = true; }); return u; };
const constOf = (e: Expr): number | undefined => {
  if (e.k === 'const') return e.v;
  if (e.k === 'bin' && (e.op === 'add' || e.op === 'sub' || e.op === 'mul')) {
    const a = constOf(e.a), b = constOf(e.b);
    if (a === undefined || b === undefined) return undefined;
    return e.op === 'add' ? a + b : e.op === 'sub' ? a - b : a * b;
  }
  return undefined;
};

/**
 * Rewrite kernel `kernel` (a conv with `phasesApplies`) to read its input by stride phases. Returns
 * false (nothing changed) when the input is not read as [n, c, h, s*ow + d*kw + b] of the input
 * param or of a padded copy only the conv reads.
 */
export function applyPhases(prog: Program, kernel: string, c: ConvInfo, lanes = 1): boolean {
  const src = prog.sources.get(kernel)!;
  const st = src.stages[c.stage] as ComputeStage;
  const ow = st.axes[3], kwAxis = c.reduce.axes[c.reduce.axes.length - 1];
  const s = c.strides[1];
  const loads: Load[] = [];
  walkExpr(c.reduce.body, (x) => { if (x.k === 'load' && uses(x.idx, ow)) loads.push(x); });
  if (loads.length !== 1) return false;
  const B = [...src.params, ...src.temps].find((b) => b.name === loads[0].buf);
  const X = src.params[0];
  if (!B || B.shape.length !== 4) return false;
  const idx = peelIndex(loads[0].idx, B.shape);
  if (!idx || idx.slice(0, 3).some((e) => uses(e, ow) || uses(e, kwAxis.name))) return false;
  const lin = linearize(idx[3], new Map([[ow, c.OW], [kwAxis.name, kwAxis.extent]]));
  const b0 = lin && constOf(lin.base);
  const d = lin?.coef.get(kwAxis.name) ?? 0;
  if (!lin || lin.coef.get(ow) !== s || b0 === undefined || b0 < 0 || d < 0) return false;
  // the padded copy this conv reads (one extern stage writes it, nothing else reads it), or X itself
  let padStage = -1;
  if (B !== X) {
    if (!src.temps.includes(B)) return false;
    const writers: number[] = [], readers: number[] = [];
    src.stages.forEach((sg, i) => {
      let w = false, r = false;
      const see = (e: Expr) => { if (e.k === 'load' && e.buf === B.name) r = true; };
      if (sg.kind === 'compute') { walkExpr(sg.body, see); if (sg.out.name === B.name) w = true; }
      else { walkExprs(sg.body, see); walkStmt(sg.body, (x) => { if (x.k === 'store' && x.buf === B.name) w = true; }); }
      if (w) writers.push(i);
      if (r) readers.push(i);
    });
    if (writers.length !== 1 || src.stages[writers[0]].kind !== 'extern' || readers.join() !== String(c.stage)) return false;
    padStage = writers[0];
  }
  // what the padded copy stores from an input element (f32: the element; int8: x - x_zero_point in i32)
  const prep = B === X ? (x: Expr) => x : prepOf(src.stages[padStage] as Extract<Stage, { kind: 'extern' }>, B.name, X.name);
  if (!prep) return false;
  const [pt, pl] = B === X ? [0, 0] : [c.pads[0], c.pads[1]];
  const [N, C, P0, P1] = B.shape;
  const taps = Array.from({ length: kwAxis.extent }, (_, k) => d * k + b0);
  const phases = [...new Set(taps.map((g) => g % s))].sort((x, y) => x - y);
  const F = phases.length, Q = Math.ceil(P1 / s);
  const Xph: Buffer = { name: src.fresh('xph'), dtype: B.dtype, shape: [N, C, P0, F, Q], scope: 'local', role: 'scratch' };

  // the copy: per row, per phase: zeros | X columns q*s + f - pl | zeros
  const nc = src.fresh('pnc'), ph = src.fresh('pph'), q = src.fresh('pq');
  const ih = E.sub(E.v(ph), E.i(pt));
  const rowOf = (slot: number) => E.mul(E.add(E.mul(E.add(E.mul(E.v(nc), E.i(P0)), E.v(ph)), E.i(F)), E.i(slot)), E.i(Q));
  const zeros = (slot: number, from: number, n: number): Stmt[] => (n > 0 ? [S.for(q, n, S.store(Xph.name, E.add(rowOf(slot), E.add(E.v(q), E.i(from))), E.c(0, B.dtype)))] : []);
  // a run of n copied columns in vectors of `lanes` (the last block clamped: it overlaps, same values),
  // so a stride-2 read becomes two vector loads and a shuffle instead of n scalar loads
  const qb = src.fresh('pqb'), qi = src.fresh('pqi');
  const copyRun = (n: number, body: (qe: Expr) => Stmt): Stmt => (lanes < 4 || n < lanes ? S.for(q, n, body(E.v(q))) : clampedBlocks(n, lanes, { block: qb, lane: qi }, body));
  const rowCopy = phases.flatMap((f, slot) => {
    const lo = Math.min(Q, Math.max(0, Math.ceil((pl - f) / s))), hi = Math.max(lo, Math.min(Q, Math.ceil((c.W + pl - f) / s)));
    const xi = E.add(E.mul(E.add(E.mul(E.v(nc), E.i(c.H)), ih), E.i(c.W)), E.add(E.mul(E.add(E.v(q), E.i(lo)), E.i(s)), E.i(f - pl)));
    return [...zeros(slot, 0, lo), ...(hi > lo ? [copyRun(hi - lo, (qe) => S.store(Xph.name, E.add(rowOf(slot), E.add(qe, E.i(lo))), prep(E.load(X.name, substitute(xi, { [q]: qe }), X.dtype))))] : []), ...zeros(slot, hi, Q - hi)];
  });
  const rowZero = phases.flatMap((_, slot) => zeros(slot, 0, Q));
  const inRow = E.and(E.ge(ih, E.i(0)), E.lt(ih, E.i(c.H)));
  const copy: Stage = { kind: 'extern', outs: [], body: S.for(nc, N * C, S.for(ph, P0, S.if(inRow, S.seq(...rowCopy), S.seq(...rowZero)))) };

  // the conv reads Xph[n, c, hp, slot(g), ow + g / s] with g = d*kw + b0
  const g = E.add(E.mul(E.v(kwAxis.name), E.i(d)), E.i(b0));
  const slot = F === 1 ? E.i(0) : phases[0] === 0 && F === s ? E.mod(g, E.i(s)) : undefined;
  if (!slot) return false;
  const col = E.add(E.v(ow), E.div(g, E.i(s)));
  const newIdx = flatIndex([idx[0], idx[1], idx[2], slot, col], Xph.shape);
  const key = JSON.stringify(loads[0]);
  const body = mapExpr(st.body, (x) => (x.k === 'load' && JSON.stringify(x) === key ? { ...x, buf: Xph.name, idx: newIdx } : x));
  const stages = src.stages.map((sg, i) => (i === c.stage ? { ...st, body } : sg));
  if (padStage >= 0) stages[padStage] = copy;
  else stages.splice(c.stage, 0, copy);
  src.stages = stages;
  src.temps = [...src.temps.filter((t) => t !== B), Xph];
  return true;
}


/**
 * The value a padded-copy stage stores into `pad` from one element of `x`, as a function of that
 * element's load: its stores into `pad` that read x read it once, all with the same expression around
 * the load, and read nothing else that varies (zero points). Undefined otherwise.
 */
function prepOf(stage: Extract<Stage, { kind: 'extern' }>, pad: string, x: string): ((load: Expr) => Expr) | undefined {
  const forms = new Set<string>();
  let form: Expr | undefined, ok = true;
  const HOLE = '%x';
  walkStmt(stage.body, (st) => {
    if (st.k !== 'store' || st.buf !== pad) return;
    const xs: Expr[] = [];
    walkExpr(st.val, (e) => { if (e.k === 'load' && e.buf === x) xs.push(e); });
    if (!xs.length) return;
    if (xs.length !== 1) { ok = false; return; }
    const f = mapExpr(st.val, (e) => (e.k === 'load' && e.buf === x ? { k: 'var', name: HOLE, t: e.t, lanes: 1 } : e));
    // anything else it reads must not depend on a loop (one value for the whole copy)
    walkExpr(f, (e) => { if (e.k === 'load' && e.buf !== x) walkExpr(e.idx, (i) => { if (i.k === 'var') ok = false; }); });
    forms.add(JSON.stringify(f));
    form = f;
  });
  if (!ok || forms.size !== 1 || !form) return undefined;
  const f = form;
  return (load) => substitute(f, { [HOLE]: load });
}
