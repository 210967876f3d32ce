/**
 * Default schedules, chosen per kernel from its compute stages' shapes and the target's declared
 * capabilities (never its name or the op's name): the loads in a stage's body decide.
 *
 * - Elementwise (no reduction): vectorize the innermost output axis when it divides into vectors.
 * - One reduction (GEMM, MatMul, Conv, 1x1 Conv, depthwise Conv, pooling, reductions): a register
 *   tile R x W of accumulators over two output axes, the reduction loops outside the tile, the W axis
 *   vectorized and the R axis unrolled (a GEMM micro-kernel). The vector axis v is one where
 *   every load is either independent of v or unit-stride in v ("contiguous"; MatMul's n, Conv's ow),
 *   or where the only loads depending on v are constant weights indexed by v in their dim 0, which
 *   are then packed [D0/W, ..., W] at compile time ("packed"; Conv's output channels, Gemm's
 *   transposed B). The row axis is one the vector operand does not depend on (its vector load is
 *   reused by every row). Vector width: target f32 lanes scaled to the accumulator type (f64
 *   accumulators: half), a power of two dividing v's extent (no remainder guards in the tile).
 * Schedules never change results (a reduction keeps its order per output element).
 */
import { reportProgress } from '@aic/core';
import type { TargetCaps } from '@aic/ir-spec';
import { E, ScheduleError, computeT, flatIndex, isKernelLevel, mapExpr, numel, walkExpr, type ComputeStage, type Directive, type Expr, type ScalarType } from '@aic/loop-ir';
import type { KernelSource, Program } from '../lower/program.ts';
import { packWeight, packable, peelIndex } from './pack.ts';
import { blockedStageSchedule } from './blocked.ts';
import { chooseAlgorithms } from './algorithms/choose.ts';
import { tileColumns } from './algorithms/im2col.ts';
import { applyIntDot } from './int-dot.ts';
import { applyByteTable } from './byte-table.ts';
import { interleavedRows } from './row-interleave.ts';
import { isWide, maxTileRows, packedRows, rowPackParams, twoContiguousVectors } from './wide-tile.ts';
import { PANEL_VECTORS, colPackParams, colPackRows, colPackRowsWide } from './col-pack.ts';
import { affineOver, blockRows, type IndexAt } from './grouped.ts';

type Reduce = Extract<Expr, { k: 'reduce' }>;
type Load = Extract<Expr, { k: 'load' }>;

const visit = walkExpr;
/** distinct reductions (identical copies, e.g. from y * sigmoid(y), are realized once) */
function reducesOf(e: Expr): Reduce[] {
  const out: Reduce[] = [];
  const seen = new Set<string>();
  visit(e, (x) => {
    if (x.k !== 'reduce') return;
    const key = JSON.stringify(x);
    if (!seen.has(key)) { seen.add(key); out.push(x); }
  });
  return out;
}
function loadsOf(e: Expr): Load[] {
  const out: Load[] = [];
  visit(e, (x) => { if (x.k === 'load') out.push(x); });
  return out;
}
function hasReduce(st: ComputeStage): boolean {
  return reducesOf(st.body).length > 0;
}
const bytes = (t: ScalarType) => (t === 'f64' || t === 'i64' || t === 'u64' ? 8 : t === 'f32' || t === 'i32' || t === 'u32' ? 4 : t === 'i16' || t === 'u16' ? 2 : 1);

/** Integer value of an index expression under env (NaN when it is not a plain index expression). */
function evalIdx(e: Expr, env: Record<string, number>): number {
  switch (e.k) {
    case 'const': return e.v;
    case 'var': return env[e.name] ?? 0;
    case 'bin': {
      const a = evalIdx(e.a, env), b = evalIdx(e.b, env);
      switch (e.op) {
        case 'add': return a + b;
        case 'sub': return a - b;
        case 'mul': return a * b;
        case 'div': return b === 0 ? NaN : Math.trunc(a / b);
        case 'mod': return b === 0 ? NaN : a % b;
        case 'min': return Math.min(a, b);
        case 'max': return Math.max(a, b);
        default: return NaN;
      }
    }
    default: return NaN;
  }
}
function usesVar(e: Expr, v: string): boolean {
  let u = false;
  visit(e, (x) => { if (x.k === 'var' && x.name === v) u = true; });
  return u;
}
/** d idx / d v when idx is affine in v (checked at 3 points, other vars at two settings), else NaN. */
function coef(idx: Expr, v: string, vars: string[]): number {
  if (!usesVar(idx, v)) return 0;
  let c = NaN;
  for (const base of [0, 1]) {
    const env: Record<string, number> = Object.fromEntries(vars.map((x) => [x, base]));
    const f = (x: number) => evalIdx(idx, { ...env, [v]: x });
    const c1 = f(1) - f(0), c2 = f(2) - f(1), c3 = f(5) - f(4);
    if (!(c1 === c2 && c2 === c3)) return NaN;
    if (!Number.isNaN(c) && c !== c1) return NaN;
    c = c1;
  }
  return c;
}
/** [lo, hi] of an integer index expression with every variable in [0, ext - 1] (undefined: unknown). */
function range(e: Expr, ext: ReadonlyMap<string, number>): [number, number] | undefined {
  switch (e.k) {
    case 'const': return Number.isInteger(e.v) ? [e.v, e.v] : undefined;
    case 'var': { const n = ext.get(e.name); return n === undefined ? undefined : [0, n - 1]; }
    case 'un': { if (e.op !== 'neg') return undefined; const r = range(e.x, ext); return r && [-r[1], -r[0]]; }
    case 'select': { const a = range(e.a, ext), b = range(e.b, ext); return a && b && [Math.min(a[0], b[0]), Math.max(a[1], b[1])]; }
    case 'bin': {
      const a = range(e.a, ext), b = range(e.b, ext);
      if (!a || !b) return undefined;
      switch (e.op) {
        case 'add': return [a[0] + b[0], a[1] + b[1]];
        case 'sub': return [a[0] - b[1], a[1] - b[0]];
        case 'mul': { const p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]; return [Math.min(...p), Math.max(...p)]; }
        case 'min': return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
        case 'max': return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
        case 'div': {
          if (b[0] !== b[1] || b[0] <= 0) return undefined;
          return [Math.trunc(a[0] / b[0]), Math.trunc(a[1] / b[0])];
        }
        default: return undefined;
      }
    }
    default: return undefined;
  }
}

/**
 * loads that sit inside a select branch (guarded: reading them for every lane could leave the buffer),
 * unless their index provably stays inside the buffer for every iteration (`ext`: loop extents,
 * `sizes`: buffer element counts).
 */
export function guardedLoads(e: Expr, ext?: ReadonlyMap<string, number>, sizes?: ReadonlyMap<string, number>): Set<Load> {
  const out = new Set<Load>();
  visit(e, (x) => {
    if (x.k !== 'select') return;
    for (const l of [...loadsOf(x.a), ...loadsOf(x.b)]) {
      const r = ext && sizes?.has(l.buf) ? range(l.idx, ext) : undefined;
      if (r && r[0] >= 0 && r[1] < sizes!.get(l.buf)!) continue;
      out.add(l);
    }
  });
  return out;
}
const bufSizes = (src: KernelSource) => new Map([...src.params, ...src.temps].map((b) => [b.name, b.shape.reduce((a, d) => a * d, 1)]));

/** Lanes of a vector of values `w` bytes wide: as many as the target's f32 vector holds, or its lane count (caps.fixedLanes). */
const lanesOf = (caps: TargetCaps, w: number) => (caps.fixedLanes ? caps.vectorLanes : Math.max(1, Math.floor(caps.vectorLanes * 4 / w)));
const pow2Divisor = (n: number, max: number) => { let w = 1; while (w * 2 <= max && n % (w * 2) === 0) w *= 2; return w; };

/** Elementwise: vectorize the innermost output axis when it divides into whole vectors. */
/**
 * Bytes of the widest value an elementwise body computes (its output at least): a uint8 QuantizeLinear
 * computes in f32, so a vector holds the f32 lanes of the target, not 4x as many byte lanes.
 */
function widestComputed(st: ComputeStage): number {
  let w = bytes(computeT(st.out.dtype));
  // index arithmetic (i32) is not a lane value
  const index = new Set<Expr>();
  visit(st.body, (x) => { if (x.k === 'load') visit(x.idx, (y) => { index.add(y); }); });
  visit(st.body, (x) => { if (!index.has(x) && x.k !== 'var' && x.k !== 'const') w = Math.max(w, bytes(computeT(x.t))); });
  return w;
}

function elementwise(st: ComputeStage, caps: TargetCaps, src: KernelSource): Directive[] {
  const r = st.axes.length;
  if (caps.vectorLanes <= 1 || r === 0) return [];
  const L = lanesOf(caps, widestComputed(st)); // 16-bit floats compute in f32
  const inner = st.axes[r - 1];
  const n = st.out.shape[r - 1];
  // a load in a select branch whose index stays in its buffer may be read for every lane (QuantizeLinear's NaN / clamp selects)
  const guarded = guardedLoads(st.body, new Map(st.axes.map((a, i) => [a, st.out.shape[i]] as [string, number])), bufSizes(src));
  for (const l of loadsOf(st.body)) {
    const c = coef(l.idx, inner, st.axes);
    if (Number.isNaN(c) || (guarded.has(l) && c !== 0)) return [];
  }
  const W = n % L === 0 ? L : pow2Divisor(n, L);
  if (W < 4 || n < W) return [];
  return [{ d: 'split', axis: inner, factor: W }, { d: 'vectorize', axis: `${inner}_i` }];
}

/**
 * An elementwise stage whose innermost axis does not fill whole vectors (a 14x14 or 7x7 map: int8
 * SiLU / residual chains between QDQ pairs ran scalar) is rewritten over its last two axes merged
 * (h*W + w: the same memory, row-major), as often as that helps: every load that reads them reads a
 * buffer with the same trailing dims at [.., h, w]; loads that read neither stay. Returns the stage
 * (rewritten in src, or as it was).
 */
function flattenElementwise(src: KernelSource, st0: ComputeStage, caps: TargetCaps): ComputeStage {
  const L = lanesOf(caps, widestComputed(st0));
  const shapes = new Map([...src.params, ...src.temps].map((b) => [b.name, b.shape]));
  // how many trailing axes to merge: the fewest whose extents' product fills whole vectors of L (a
  // 1152x7x7 map: all three), else the count that fills the widest ones, if wider than the innermost's
  const dims = st0.out.shape, R = dims.length;
  let want = 1, best = pow2Divisor(dims[R - 1]!, L);
  for (let k = 2, prod = dims[R - 1]!; k <= R && best < L; k++) {
    prod *= dims[R - k]!;
    if (pow2Divisor(prod, L) > best) { best = pow2Divisor(prod, L); want = k; }
  }
  if (caps.vectorLanes <= 1 || best < 4) return st0;
  let st = st0;
  while (st.axes.length > R - want + 1) {
    const r = st.axes.length, n = st.out.shape[r - 1]!, H = st.out.shape[r - 2]!;
    const h = st.axes[r - 2]!, w = st.axes[r - 1]!, f = src.fresh('f');
    const seen = new Map<string, number[]>();
    let ok = true;
    const body = mapExpr(st.body, (x) => {
      if (x.k !== 'load' || (!usesVar(x.idx, h) && !usesVar(x.idx, w))) return x;
      const shape = shapes.get(x.buf), idx = shape && peelIndex(x.idx, shape);
      const k = shape?.length ?? 0;
      if (!shape || !idx || k < 2 || shape[k - 2] !== H || shape[k - 1] !== n || !isVarE(idx[k - 2]!, h) || !isVarE(idx[k - 1]!, w)
        || idx.slice(0, -2).some((e) => usesVar(e, h) || usesVar(e, w))) { ok = false; return x; }
      const merged = [...shape.slice(0, -2), H * n];
      seen.set(x.buf, merged);
      return { ...x, idx: flatIndex([...idx.slice(0, -2), E.v(f)], merged) };
    });
    let stray = false;
    visit(body, (x) => { if (x.k === 'var' && (x.name === h || x.name === w)) stray = true; });
    if (!ok || stray) break;
    for (const [b, sh] of seen) shapes.set(b, sh);
    st = { ...st, out: { ...st.out, shape: [...st.out.shape.slice(0, -2), H * n] }, axes: [...st.axes.slice(0, -2), f], body };
  }
  if (st !== st0) src.stages = src.stages.map((x) => (x === st0 ? st : x));
  return st;
}
const isVarE = (e: Expr, v: string) => e.k === 'var' && e.name === v;

export interface PackRequest { param: number; block: number; dim?: number }
export interface StageSchedule { dirs: Directive[]; packs: PackRequest[] }

/**
 * Register-tiled reduction (GEMM micro-kernel / direct convolution); see the file comment. `panel`:
 * the column-panel width a `panel` directive asks for (col-pack.ts; a ScheduleError where the stage
 * packs column panels but not of that width).
 */
/**
 * Wide-vector targets (C): a product of at most this many rows with a column-packed B (col-pack.ts)
 * takes the narrow targets' few-row tiles (and, over more rows than one tile, one vector per row with
 * its panel loop outermost: panelOuter below). Up to 16 rows measured (convnext_tiny's 4- and 16-row
 * MLPs, `aic profile --target c -O3`: 24.8 -> 18.1 ms at 8, 13.8 at 16, 15.2 at 64 with those tiles);
 * more rows take the wide tile. No shared-zoo kernel has so few rows with such a B.
 */
const COL_PACK_WIDE_ROWS = 16;
/** ... and a weight larger than L1 (a smaller one stays cached whatever its layout). */
const COL_PACK_WIDE_BYTES = 32 * 1024;
/** ... and a column-packed K x P panel of more bytes than this is cut into K blocks of one of KBLOCK_KC */
const KBLOCK_PANEL_BYTES = 256 * 1024;
const KBLOCK_KC = [256, 192, 128, 320, 384];
/** computed lanes per useful lane at most for whole vectors over a packed axis they do not divide (split tail 'store') */
const STORE_TAIL_WASTE = 1.125;

function reduction(src: KernelSource, st: ComputeStage, caps: TargetCaps, prog?: Program, panel?: number): StageSchedule | undefined {
  const reds = reducesOf(st.body);
  if (reds.length !== 1 || caps.vectorLanes <= 1) return undefined;
  const R = reds[0];
  const L = lanesOf(caps, bytes(R.t));
  const out = st.axes.map((a, i) => ({ name: a, extent: st.out.shape[i] }));
  const vars = [...st.axes, ...R.axes.map((a) => a.name)];
  const loads = loadsOf(R.body);
  const allLoads = loadsOf(st.body);
  const guarded = guardedLoads(st.body, new Map([...out.map((a) => [a.name, a.extent] as [string, number]), ...R.axes.map((a) => [a.name, a.extent] as [string, number])]), bufSizes(src));
  const paramIndex = (buf: string) => src.params.findIndex((p) => p.name === buf);
  const at = (idx: Expr, v: string): IndexAt => (x, base) => evalIdx(idx, { ...Object.fromEntries(vars.map((y) => [y, base])), [v]: x });
  type Cand = { v: string; W: number; packs: PackRequest[]; strided?: boolean; clamp?: boolean; store?: boolean };
  const cands: Cand[] = [];
  for (const ax of out) {
    if (ax.extent < 4) continue;
    // contiguous: every load independent of v or unit-stride in it (over v's whole extent: grouped.ts)
    const cs = allLoads.map((l) => { const c = coef(l.idx, ax.name, vars); return Number.isNaN(c) || affineOver(at(l.idx, ax.name), ax.extent, c) ? c : NaN; });
    // an epilogue load (outside the reduction, read once per output element) may be gathered
    const gather = (i: number) => !loads.includes(allLoads[i]) && !guarded.has(allLoads[i]);
    const okA = cs.every((c, i) => c === 0 || (c === 1 && !guarded.has(allLoads[i])) || (Number.isNaN(c) && gather(i)));
    // strided: loads at a small constant stride in v (stride-2 depthwise conv, pooling): strided vector loads
    const okS = !okA && cs.every((c, i) => c === 0 || (Number.isInteger(c) && c >= 1 && c <= 4 && !guarded.has(allLoads[i])) || (!loads.includes(allLoads[i]) && gather(i)));
    if (okA || okS) {
      const W = pow2Divisor(ax.extent, L);
      if (W >= 4) cands.push({ v: ax.name, W, packs: [], strided: okS });
      if (W < L && ax.extent >= 7) {
        // no power-of-two divisor as wide as the target's vectors (7, 14, 55; 196 = 4 x 49): whole vectors
        // with an overlapping (clamped) last block, when wider than the divisor (shufflenet's 116-channel
        // 1x1 convs over 14 x 14 pixels on 16 lanes: 16-lane blocks, not 4)
        let Wc = 4;
        while (Wc * 2 <= Math.min(L, ax.extent) && Math.ceil(ax.extent / (Wc * 2)) * Wc * 2 <= ax.extent * 1.25) Wc *= 2;
        if (Wc > W) cands.push({ v: ax.name, W: Wc, packs: [], strided: okS, clamp: true });
      }
      continue;
    }
    // packed: the loads depending on v are constant weights indexed by v in dim 0 (inside the reduction)
    if (!prog) continue;
    const dep = allLoads.filter((_, i) => cs[i] !== 0);
    const packs: PackRequest[] = [];
    let okB = dep.length > 0;
    const W = pow2Divisor(ax.extent, L);
    for (const l of dep) {
      const p = paramIndex(l.buf);
      const param = src.params[p];
      const idx = param ? peelIndex(l.idx, param.shape) : undefined;
      const isWeight = p >= 0 && packable(prog, src, p) && loads.includes(l);
      if (!isWeight || !idx || !(idx[0].k === 'var' && idx[0].name === ax.name) || idx.slice(1).some((e) => usesVar(e, ax.name)) || guarded.has(l)) {
        // a load outside the reduction (bias) may be contiguous in v instead
        const c = coef(l.idx, ax.name, vars);
        if (!loads.includes(l) && c === 1 && !guarded.has(l)) continue;
        // an epilogue load (residual) gathered once per output element is fine
        if (!loads.includes(l) && !Number.isNaN(c) && !guarded.has(l)) continue;
        okB = false;
        break;
      }
      if (!packs.some((q) => q.param === p)) packs.push({ param: p, block: W });
    }
    if (okB && W >= 4 && packs.length) cands.push({ v: ax.name, W, packs });
    // no power-of-two divisor as wide as the vectors (921 or 460 output channels: r2plus1d_18's
    // (2+1)-D convs): whole vectors over the weight packed zero-filled to whole blocks; the last
    // block's reduction runs over the zero lanes in registers and only its stores are guarded (split
    // tail 'store'), at most 1/8 of the lanes wasted (torchvision r2plus1d_18 at 64x64, C -O3: its
    // 921-channel convs ran in scalar lanes, 7.14 -> 1.19 ms; whole model 30.1 -> 20.1 ms, aic profile;
    // the shared zoo's 1000-class heads on 16 lanes, not 8, and shufflenet_v2's 116 / 232 channels at
    // -O2: within 1-3%)
    const Lp = Math.ceil(ax.extent / L) * L;
    if (okB && W < L && packs.length && ax.extent >= L && Lp <= ax.extent * STORE_TAIL_WASTE) {
      cands.push({ v: ax.name, W: L, packs: packs.map((q) => ({ ...q, block: L })), store: true });
    }
  }
  if (!cands.length) return undefined;
  // a short reduction (a first conv's 3 x 3 x 3) with a vector the output is not contiguous in (output
  // channels of NCHW): its stores scatter, one per lane, and cost more than the reduction; a candidate
  // stored as whole vectors comes first (squeezenet's 3->64 stride-2 conv on C: 1.14 -> 0.40 ms)
  // (a dot4 / dot2 step sums 4 / 2 products: count products, not steps)
  let perStep = 1;
  walkExpr(R.body, (x) => { if (x.k === 'call' && (x.fn === 'dot4' || x.fn === 'dot2')) perStep = x.fn === 'dot4' ? 4 : 2; });
  const reduceLen = R.axes.reduce((p, a) => p * a.extent, 1) * perStep;
  const outStride = (v: string) => out.slice(out.findIndex((a) => a.name === v) + 1).reduce((p, a) => p * a.extent, 1);
  const scatters = (c: Cand) => reduceLen < 4 * c.W && outStride(c.v) !== 1 && !st.out.layout;
  // widest vector; then contiguous (no packing); then the innermost axis
  cands.sort((a, b) => Number(scatters(a)) - Number(scatters(b)) || b.W - a.W || Number(!!a.clamp) - Number(!!b.clamp) || Number(!!a.strided) - Number(!!b.strided) || a.packs.length - b.packs.length || st.axes.indexOf(b.v) - st.axes.indexOf(a.v));
  const c = cands[0];
  // the vector operand: reduction loads that depend on v; rows: an axis none of them depends on
  const vecLoads = loads.filter((l) => coef(l.idx, c.v, vars) !== 0);
  const wide = isWide(c.W, bytes(R.t));
  const vExtent = out.find((a) => a.name === c.v)!.extent;
  // two vectors per row when the vector axis has room (packed: 2W dividing it; contiguous, on wide
  // targets: a clamped 2W block): 6 rows x 2 vectors = 12 accumulators, 12 x 2 on wide targets (wide-tile.ts)
  // narrow targets: a constant vector operand (MatMul's B) packed in column panels of colV vectors
  // (col-pack.ts): two by default where they divide, four when the tile has at most 2 rows (below)
  // ... and on wide targets for a weight larger than L1 (COL_PACK_WIDE_BYTES): a row-major B[k, n] read a
  // tile's width at a time touches a new cache line (and, past 4 KiB rows, a new page) N floats away
  // each step, so the hardware prefetcher and the TLB lose it. A product of few rows (COL_PACK_WIDE_ROWS)
  // reads its weight once per tile row group and is bound by streaming it (torchvision convnext_tiny at
  // 64x64, C -O3: [1,2,2,768] @ [768,3072] 1.86 -> 0.52 ms, whole model 25.2 -> 13.1 ms, 2.01 -> 1.07 of
  // ONNX Runtime); a product of many rows keeps the wide tile (12 rows x 2 vectors) over the packed
  // panel (torchvision vit_b_16 at 224 as one-GEMM models, C -O3: [197,768] @ [768,3072] 11.3 -> 8.2 ms,
  // [197,3072] @ [3072,768] 11.2 -> 9.1, @ [768,2304] 7.4 -> 6.1, @ [768,768] 2.3 -> 2.0; whole model vs
  // ONNX Runtime 1.31 -> 0.98, swin_t 1.09 -> 0.93; npm run bench:c -O 3)
  const productRows = out.filter((a) => a.name !== c.v).reduce((p, a) => p * a.extent, 1);
  const bigWeight = vecLoads.some((l) => { const q = src.params.find((x) => x.name === l.buf); return !!q && numel(q.shape) * bytes(R.t) > COL_PACK_WIDE_BYTES; });
  const fewRows = productRows <= COL_PACK_WIDE_ROWS && bigWeight;
  const canColPack = (!wide || bigWeight) && prog && !c.packs.length && !c.strided && !c.clamp;
  const colPackAt = (P: number) => canColPack ? colPackParams(prog, src, vecLoads, c.v, vExtent, P, usesVar) : undefined;
  const panels = PANEL_VECTORS.filter((v) => colPackAt(v * c.W));
  if (panel !== undefined && panels.length && !panels.includes(panel / c.W)) {
    throw new ScheduleError(`panel ${panel}: kernel ${src.name} packs its weight in panels of ${panels.map((v) => v * c.W).join(', ')} lanes`);
  }
  let colV = panel !== undefined ? panel / c.W : panels.includes(2) ? 2 : 1;
  let colPack = panels.length ? colPackAt(colV * c.W) : undefined;
  // ... and on narrow targets with 16 registers (wasm-simd) 4 rows x 2 vectors over a contiguous axis
  // (8 accumulators, 2 vector operands, 4 broadcasts): mobilenet_v2's 1x1 GEMMs 16.8 -> 15.2 ms vs 6 x 1
  const contig2 = !c.packs.length && !colPack && twoContiguousVectors(vExtent, c.W, wide, isWide(caps.vectorLanes, 4));
  if (colPack) c.packs = colPack;
  // packed output channels: two vectors per row on wide targets, and on narrow ones for int16-pair dot
  // products (wasm-simd int8: 2 x 4 instead of 1 x 7 accumulators, a weight vector load and a broadcast
  // shared by more dot2s: resnet18 int8's stem and strided convs, whole model 43.5 -> 40.5 ms)
  let V = colPack ? colV : (c.packs.length && (wide || perStep === 2) && Math.ceil(vExtent / c.W) % 2 === 0 && (c.store || vExtent % c.W === 0)) || contig2 ? 2 : 1;
  type Row = { name: string; R: number; clamp: boolean; cost: number; pack?: number[] };
  // the row axis of the tile and its rows, for tiles of at most maxRows rows
  const tileRows = (maxRows: number): Row | undefined => {
    let row: Row | undefined;
    for (const ax of out.slice().reverse()) {
      if (ax.name === c.v || ax.extent < 2) continue;
      // rows reuse the vector operand: independent of the row axis, or constant on its blocks (a group: grouped.ts)
      const dep = vecLoads.filter((l) => usesVar(l.idx, ax.name));
      const groupR = dep.length ? blockRows(dep.map((l) => at(l.idx, ax.name)), ax.extent, maxRows) : undefined;
      if (dep.length && !groupR) continue;
      let pick: { R: number; clamp: boolean; cost: number; pack?: number[] } = groupR ? { R: groupR, clamp: false, cost: 1 } : rowsFor(ax.extent, maxRows);
      // wide targets: rows that broadcast a constant weight get it packed R rows per block (wide-tile.ts)
      const rowPack = wide && prog ? rowPackParams(loads.filter((l) => usesVar(l.idx, ax.name)), ax.name, (l) => {
        const p = paramIndex(l.buf);
        return { p, idx: p >= 0 ? peelIndex(l.idx, src.params[p].shape) : undefined, packable: p >= 0 && packable(prog, src, p) && !guarded.has(l) };
      }, usesVar) : undefined;
      const Rp = rowPack ? groupR ?? packedRows(ax.extent, maxRows) : 0;
      if (Rp) pick = { R: Rp, clamp: false, cost: 1, pack: rowPack };
      // fewer computed rows per useful row, then more rows per tile
      if (!row || pick.R > row.R || (pick.R === row.R && pick.cost < row.cost)) row = { name: ax.name, ...pick };
    }
    return row;
  };
  // column-packed rows: wide targets' full tiles over many rows (col-pack.ts colPackRowsWide)
  const packRows = (v: number) => (wide && !fewRows ? colPackRowsWide(v) : colPackRows(v));
  let row = tileRows(colPack ? packRows(V) : maxTileRows(V, wide, isWide(caps.vectorLanes, 4)));
  // a column-packed tile of at most 2 rows (a vector-matrix product, M = 1): four vectors per row keep
  // 4-8 accumulators busy (a 1x768 @ 768x768 MatMul on wasm-simd: 0.063 -> 0.045 ms vs two)
  if (colPack && panel === undefined && (!row || row.R <= 2) && panels.includes(4)) {
    colV = V = 4;
    colPack = colPackAt(4 * c.W);
    c.packs = colPack!;
    row = tileRows(packRows(V));
  }
  // wide targets, a few-row product (fewRows) whose tile has 4 rows or more and more rows than one tile
  // holds (rows [1, H, W, C]: a tile over W with H outside re-streamed the weight per H): one vector per row, its
  // panel loop outermost (below: each 16-column panel, K x 16 floats, stays in L1 for every row while
  // the weight streams once). torchvision convnext_tiny at 64x64, C -O3, its stage-3 MLPs [1,4,4,384] @
  // [384,1536] and back (4 x 2 tiles over one row axis, the other outside): 13.87 -> 11.82 ms
  // (benchmarks/c-schedule-ab.ts -O 3, 7 rounds; found by `aic tune`: 337 -> 197 us per kernel); its
  // 2-row tiles keep 4 vectors (one vector there: 13.70 -> 15.00 ms)
  const panelOuter = !!colPack && wide && fewRows && panel === undefined && !!row && row.R >= 4 && productRows > row.R && colV === 2 && panels.includes(1);
  if (panelOuter) {
    colV = V = 1;
    colPack = colPackAt(c.W);
    c.packs = colPack!;
    row = tileRows(colPackRows(1));
  }
  // narrow targets, packed output channels over a short or clamped row axis (at most 4 rows, or a
  // partial last tile): two vectors x 4 rows keep 8 accumulators busy with 6 loads per step
  // (-O3 Winograd GEMMs over 4 and 16 tiles, resnet18 on wasm-simd: 64.8 -> 55.2 ms; over 49 or 196
  // tiles 7 exact rows of one vector stay faster: benchmarks/wasm-schedule-ab.ts)
  if (V === 1 && !wide && perStep === 1 && c.packs.length && !colPack && vExtent % (2 * c.W) === 0 && row && (row.R <= 4 || row.clamp)) {
    const max2 = maxTileRows(2, wide, isWide(caps.vectorLanes, 4));
    const two = tileRows(max2);
    if (two && !two.clamp && (two.R === max2 || two.R === row.R)) { V = 2; row = two; }
  }
  if (!row || row.R < 2) {
    // no axis reuses the vector operand (depthwise conv, pooling): rows over the output axis just
    // outside v still give independent accumulators (hiding the FMA latency), each with its own loads
    const vi = st.axes.indexOf(c.v);
    const ax = vi > 0 ? out[vi - 1] : undefined;
    if (ax && ax.extent >= 2) row = { name: ax.name, ...rowsFor(ax.extent, 4) };
  }
  let vecAxis = `${c.v}_i`;
  const dirs: Directive[] = [];
  const inner: string[] = [];
  const unroll: string[] = [];
  let vOuter = `${c.v}_o`;
  if (contig2) {
    // a 2W block (clamped when it does not divide), two vectors in it
    dirs.push({ d: 'split', axis: c.v, factor: 2 * c.W, ...(vExtent % (2 * c.W) ? { tail: 'clamp' as const } : {}) }, { d: 'split', axis: `${c.v}_i`, factor: c.W });
    vecAxis = `${c.v}_i_i`;
    inner.push(`${c.v}_i_o`, vecAxis);
    unroll.push(`${c.v}_i_o`);
  } else {
    dirs.push({ d: 'split', axis: c.v, factor: c.W, ...(c.clamp ? { tail: 'clamp' as const } : c.store ? { tail: 'store' as const } : {}) });
    inner.push(vecAxis);
  }
  if (colPack) dirs.unshift({ d: 'panel', lanes: colV * c.W });
  if (V >= 2 && !contig2) {
    dirs.push({ d: 'split', axis: `${c.v}_o`, factor: V });
    vOuter = `${c.v}_o_o`;
    inner.unshift(`${c.v}_o_i`);
    unroll.push(`${c.v}_o_i`);
  }
  if (row && row.R > 1) {
    dirs.push({ d: 'split', axis: row.name, factor: row.R, ...(row.clamp ? { tail: 'clamp' as const } : {}) });
    inner.unshift(`${row.name}_i`);
    unroll.unshift(`${row.name}_i`);
  }
  const outerLeaves: string[] = [];
  for (const a of st.axes) {
    if (a === c.v) outerLeaves.push(vOuter);
    else if (row && row.R > 1 && a === row.name) outerLeaves.push(`${a}_o`);
    else outerLeaves.push(a);
  }
  // a packed weight whose inner dims move with another output axis (a batched GEMM over Winograd's
  // transformed weights U[o, a2, c]: a2 is the batch): that axis runs inside the vector's blocks, so
  // each block's weights stream in memory order once (resnet18's 512-channel F(4,3) layers on
  // wasm-simd -O3, 37.7 MB of U each: whole model 54.50 -> 53.43 ms, benchmarks/wasm-schedule-ab.ts;
  // resnet18 on C -O2 26.18 -> 25.67, -O3 23.82 -> 23.44 ms, c-schedule-ab.ts; squeezenet wasm-simd
  // -O3 16.78 -> 16.53, -O2 unchanged)
  const batchInWeight = c.packs.some((q) => allLoads.some((l) => {
    if (l.buf !== src.params[q.param]?.name) return false;
    const idx = peelIndex(l.idx, src.params[q.param].shape);
    return !!idx && idx.slice(1).some((e) => st.axes.some((a) => a !== c.v && usesVar(e, a)));
  }));
  if (batchInWeight || panelOuter) outerLeaves.splice(0, outerLeaves.length, vOuter, ...outerLeaves.filter((l) => l !== vOuter));
  // wide targets, a column-packed B over many rows whose K x P panel outgrows L2's share
  // (KBLOCK_PANEL_BYTES): K blocks of kc (a divisor of K in KBLOCK_KC), the panel loop outside them
  // and the row tiles inside: each kc x P block of the panel stays in L1 across every row tile, and
  // the rows' kc-wide slices in L2 across the panels (GotoBLAS's kc). torchvision vit_b_16, its 12
  // [197, 3072] @ [3072, 768] MLP GEMMs: 117.6 / 119.3 -> 107.4 / 111.1 ms (aic profile -O3 --schedule,
  // two alternations; 77 -> 85-90% of FMA peak); at K = 768 (a 96 KiB panel) blocks measured 2-5% slower
  const kc = colPack && wide && !fewRows && R.axes.length === 1 && row && row.R > 1 && R.axes[0].extent * colV * c.W * bytes(R.t) > KBLOCK_PANEL_BYTES
    ? KBLOCK_KC.find((k) => R.axes[0].extent % k === 0) : undefined;
  if (kc) {
    const r = R.axes[0].name, rowOuter = `${row!.name}_o`;
    dirs.push({ d: 'split', axis: r, factor: kc });
    dirs.push({ d: 'reorder', order: [...outerLeaves.filter((l) => l !== vOuter && l !== rowOuter), vOuter, `${r}_o`, rowOuter, `${r}_i`, ...inner] });
  } else {
    dirs.push({ d: 'reorder', order: [...outerLeaves, ...R.axes.map((a) => a.name), ...inner] });
  }
  dirs.push({ d: 'vectorize', axis: vecAxis });
  for (const u of unroll) dirs.push({ d: 'unroll', axis: u });
  const rowPacks = row && row.R > 1 && row.pack ? row.pack.map((param) => ({ param, block: row.R })) : [];
  return { dirs, packs: [...c.packs, ...rowPacks] };
}

/**
 * Rows of a register tile over an axis of extent n, at most max: the whole axis when it fits, else a
 * divisor >= max - 2, else the R in [max / 2, max] with the fewest computed rows per useful one,
 * weighed by the tile's loads (55 on 12 -> 11 x 5; 56 -> 8 x 7; 13 -> 7 + 7 clamped, one row twice).
 */
function rowsFor(n: number, max: number): { R: number; clamp: boolean; cost: number } {
  if (n <= max) return { R: n, clamp: false, cost: 1 };
  for (let r = max; r >= max - 2; r--) if (n % r === 0) return { R: r, clamp: false, cost: 1 };
  // the fewest computed rows per useful one, weighed by (1 + 1/R) (each tile step's vector loads are
  // shared by its R rows), over R in [max / 2, max]: an exact smaller tile beats a clamped wider one
  // (C, 2x16 channels x R columns of a 3x3 conv: 56 columns 12-clamped 0.544 -> 8 x 7 0.494 ms, 28:
  // 10-clamped 0.501 -> 7 x 4 0.465, 27: 9 x 3 vs 10-clamped 0.221 vs 0.247, 13: 7 + 7 vs 10 + 10
  // 0.226 vs 0.349; benchmarks/c-schedule-ab.ts on one-conv models)
  // Tiles of at most 8 rows (4-lane targets: wasm-simd) keep the fewest computed rows in [max - 2,
  // max]: weighing them the same way took squeezenet's 1x1 GEMM tiles from 6 to 8 rows there, 15.3 ->
  // 21.4 ms (benchmarks/wasm-schedule-ab.ts)
  let best = { R: max, clamp: true, cost: Infinity }, bestEff = Infinity;
  const wide = max >= 10;
  for (let r = max; r >= Math.max(2, wide ? Math.ceil(max / 2) : max - 2); r--) {
    const cost = Math.ceil(n / r) * r / n, eff = wide ? cost * (1 + 1 / r) : cost;
    if (eff < bestEff - 1e-9) { best = { R: r, clamp: n % r !== 0, cost }; bestEff = eff; }
  }
  return best;
}

export function defaultSchedule(src: KernelSource, caps: TargetCaps, prog?: Program, opts?: ScheduleOptions): Directive[] {
  return defaultScheduleWithPacks(src, caps, prog, opts).dirs;
}

/**
 * Target choices beyond its caps: rowInterleave, reductions without a vector tile get interleaved rows
 * (row-interleave.ts): true for 4 rows, or { rows, minReduce } (only reductions of at least minReduce elements per row).
 */
export interface ScheduleOptions { rowInterleave?: boolean | { rows: number; minReduce: number } }

function defaultScheduleWithPacks(src: KernelSource, caps: TargetCaps, prog?: Program, opts?: ScheduleOptions, panel?: number): StageSchedule {
  const dirs: Directive[] = [];
  const packs: PackRequest[] = [];
  for (const st of src.stages) {
    if (st.kind !== 'compute') continue;
    // channel-blocked (NC4HW4) outputs: schedule/blocked.ts
    const blocked = blockedStageSchedule(st, caps, [...src.params, ...src.temps]);
    if (blocked) { dirs.push(...blocked); continue; }
    if (!hasReduce(st)) { dirs.push(...elementwise(prog?.sampled ? st : flattenElementwise(src, st, caps), caps, src)); continue; }
    const r = reduction(src, st, caps, prog, panel);
    if (r) { dirs.push(...r.dirs); packs.push(...r.packs.filter((p) => !packs.some((q) => q.param === p.param))); }
    else if (opts?.rowInterleave) dirs.push(...(opts.rowInterleave === true ? interleavedRows(st) : interleavedRows(st, opts.rowInterleave.rows, opts.rowInterleave.minReduce)));
  }
  if (panel !== undefined && !dirs.some((d) => d.d === 'panel')) {
    throw new ScheduleError(`panel ${panel}: kernel ${src.name} packs no weight in column panels (a MatMul whose B is a constant, on a narrow-vector target such as wasm-simd, or on C with at most ${COL_PACK_WIDE_ROWS} rows and B over ${COL_PACK_WIDE_BYTES / 1024} KiB)`);
  }
  return { dirs, packs };
}

/**
 * The column-panel widths a kernel's default schedule can pack its weight in (a `panel` directive's
 * choices, col-pack.ts), the default's first; empty when it packs none.
 */
export function panelWidths(src: KernelSource, caps: TargetCaps, prog: Program): number[] {
  const dirs = defaultScheduleWithPacks(src, caps, prog).dirs;
  const def = dirs.find((d): d is Extract<Directive, { d: 'panel' }> => d.d === 'panel');
  const vec = dirs.find((d): d is Extract<Directive, { d: 'vectorize' }> => d.d === 'vectorize');
  const W = dirs.find((d): d is Extract<Directive, { d: 'split' }> => d.d === 'split' && `${d.axis}_i` === vec?.axis)?.factor;
  if (!def || !W) return [];
  const ok = (P: number) => { try { defaultScheduleWithPacks(src, caps, prog, undefined, P); return true; } catch (e) { if (e instanceof ScheduleError) return false; throw e; } };
  return [def.lanes, ...PANEL_VECTORS.map((v) => v * W).filter((P) => P !== def.lanes && ok(P))];
}

/**
 * Default schedules for every kernel of a program. Kernels whose schedule vectorizes a packed weight
 * get that weight packed here (the program's weights and the kernel's source change).
 */
export function chooseSchedules(prog: Program, caps: TargetCaps, overrides?: Map<string, Directive[]>, opts?: ScheduleOptions): Map<string, Directive[]> {
  const out = new Map<string, Directive[]>();
  // kernel algorithms first (Winograd...: they rewrite the kernel's stages); their directive leads the schedule
  const algos = chooseAlgorithms(prog, caps, overrides);
  let done = 0;
  for (const [name, src] of prog.sources) {
    reportProgress('scheduling', done++, prog.sources.size, name);
    // int8 reductions in int16 pairs (int-dot.ts), unless a --schedule names the kernel's loops (one
    // with kernel-level directives alone, `pad-copy` / `accumulate`, keeps the default's loops)
    const paired = !overrides?.get(name)?.some((d) => !isKernelLevel(d)) && applyIntDot(prog, name, caps);
    // byte -> byte functions (a quantized model's float activations between QDQ pairs) as a table; with
    // a --schedule too: the stage keeps its loops, so a schedule of either form names the same ones
    const tabled = applyByteTable(prog, name);
    // a `panel` of the overrides: the width the default's column-packed weight is packed in (col-pack.ts)
    const panel = overrides?.get(name)?.find((d): d is Extract<Directive, { d: 'panel' }> => d.d === 'panel')?.lanes;
    const { dirs, packs } = defaultScheduleWithPacks(src, caps, prog, opts, panel);
    for (const p of packs) packWeight(prog, name, p.param, p.block, p.dim);
    const alg = algos.get(name);
    const all = alg?.d === 'algorithm' && alg.name === 'im2col' ? tileColumns(src, dirs) : dirs;
    if (alg || all.length || paired || tabled) out.set(name, alg ? [alg, ...all] : all);
  }
  reportProgress('scheduling', done, done);
  return out;
}
