/**
 * Schedules for compute stages whose output is stored channel-blocked (NCxHWx, x = the layout's
 * block): the channel axis c is split by x (c = co*x + ci) and ci is vectorized, so with every
 * blocked operand read at the same channel the index maps' (co*x + ci) / x and % x fold back to co
 * and ci (pack.ts simplifyDivMod) and every access is one x-lane vector: outputs, activations,
 * per-channel constants (contiguous in c) and packed weights (OIHW4i4o / OIHW4o: o innermost).
 *
 * - no reduction (elementwise, BatchNorm, Concat/Split, Resize, Pad, conversions):
 *   [n, co, h, w, ci], ci vectorized.
 * - one reduction (Conv incl. grouped/depthwise, pooling, global pooling): a register tile of R output
 *   pixels along w times V channel blocks, the reduction loops outside the tile:
 *   [n, co/V, h, w/R, reduction..., V, R, ci]; each step loads V weight vectors and broadcasts R
 *   inputs (a direct-convolution micro-kernel over NC4HW4, as MNN / XNNPACK do).
 * The channel extent must be a whole number of blocks (else the stage keeps its plain loops: the lanes
 * past C would be computed from operands that have no such channels).
 */
import type { TargetCaps } from '@aic/ir-spec';
import { channelBlock, childExprs as childOf, intervalOf, isFloatT, logicalShape, numel, walkExpr, type Buffer, type ComputeStage, type Directive, type Expr } from '@aic/loop-ir';

type Reduce = Extract<Expr, { k: 'reduce' }>;

function reducesOf(e: Expr): Reduce[] {
  const out: Reduce[] = [];
  const seen = new Set<string>();
  walkExpr(e, (x) => {
    if (x.k !== 'reduce') return;
    const key = JSON.stringify(x);
    if (!seen.has(key)) { seen.add(key); out.push(x); }
  });
  return out;
}

/**
 * Is there a load inside a select branch whose index uses loop variable v, and that is not also read
 * in a select condition or unconditionally (MaxPool's select(isnan(x), -inf, x) tests x anyway)?
 */
function guardedOn(e: Expr, v: string): boolean {
  const uses = (x: Expr) => { let u = false; walkExpr(x, (q) => { if (q.k === 'var' && q.name === v) u = true; }); return u; };
  const plain = new Set<string>(), branch: Expr[] = [];
  const visit = (x: Expr, guarded: boolean): void => {
    if (x.k === 'load') { if (guarded) branch.push(x); else plain.add(JSON.stringify(x)); }
    if (x.k === 'select') { visit(x.c, false); visit(x.a, true); visit(x.b, true); return; }
    if (x.k === 'load') { visit(x.idx, guarded); return; }
    for (const k of childOf(x)) visit(k, guarded);
  };
  visit(e, false);
  return branch.some((l) => l.k === 'load' && uses(l.idx) && !plain.has(JSON.stringify(l)));
}

/** Every load of the stage inside its buffer with the channel axis running to Cp (the padded extent)? */
function inBoundsPadded(st: ComputeStage, reds: Reduce[], Cp: number, buffers: readonly Buffer[]): boolean {
  const ext = new Map<string, number>(st.axes.map((a, i) => [a, i === 1 ? Cp : logicalShape(st.out)[i]]));
  for (const r of reds) for (const a of r.axes) ext.set(a.name, a.extent);
  const size = new Map(buffers.map((b) => [b.name, numel(b.shape)]));
  let ok = true;
  walkExpr(st.body, (x) => {
    if (x.k !== 'load' || !ok) return;
    const r = intervalOf(x.idx, ext), n = size.get(x.buf);
    if (!r || n === undefined || r[0] < 0 || r[1] >= n) ok = false;
  });
  return ok;
}

/** Does e hold v / x (a blocked index of loop variable v)? */
function dividesBy(e: Expr, v: string, x: number): boolean {
  let found = false;
  walkExpr(e, (q) => {
    if (q.k === 'bin' && q.op === 'div' && q.a.k === 'var' && q.a.name === v && q.b.k === 'const' && q.b.v === x) found = true;
  });
  return found;
}

/**
 * Does e divide (or take the remainder of) an expression of loop variable v by a constant other than
 * the block x? (ChannelShuffle's (c % g) * C/g + c / g: each lane reads another channel, a gather.)
 */
function mixesChannels(e: Expr, v: string, x: number): boolean {
  const uses = (q0: Expr) => { let u = false; walkExpr(q0, (q) => { if (q.k === 'var' && q.name === v) u = true; }); return u; };
  let found = false;
  walkExpr(e, (q) => {
    // index arithmetic only: a float x / 6 (HardSwish) over loads of channel c mixes nothing
    if (found || q.k !== 'bin' || (q.op !== 'div' && q.op !== 'mod') || q.b.k !== 'const' || isFloatT(q.t)) return;
    if (q.b.v !== x && q.b.v > 1 && uses(q.a)) found = true;
  });
  return found;
}

/** Does e load something whose index does not use loop variable v? */
function sharedLoad(e: Expr, v: string): boolean {
  let shared = false;
  walkExpr(e, (x) => {
    if (x.k !== 'load' || shared) return;
    let uses = false;
    walkExpr(x.idx, (q) => { if (q.k === 'var' && q.name === v) uses = true; });
    if (!uses) shared = true;
  });
  return shared;
}

/**
 * Rows of the register tile over an output width W (at most max): the R with the least work counting
 * each tile's fixed cost as two rows, ceil(W / R) * (R + 2); a tail tile that does not fit is clamped
 * (it re-computes rows of the one before). 14 at most 4: 4 rows clamped, not 7 tiles of 2.
 */
function rows(W: number, max: number): { R: number; clamp: boolean } {
  if (W <= max) return { R: W, clamp: false };
  let best = max, cost = Infinity;
  for (let r = max; r >= 2; r--) {
    const c = Math.ceil(W / r) * (r + 2);
    if (c < cost) { best = r; cost = c; }
  }
  return { R: best, clamp: W % best !== 0 };
}

/**
 * The register tile's rows over an output axis of extent W for V channel blocks of B lanes:
 * accumulators on 4-lane targets 2 x 4, wide vectors (32 registers) 2 x 8 (16 accumulators, 2 weight
 * vectors and a broadcast; with 2 x 7 at most, an 8-wide map took two tiles of 4: torchvision
 * fcn_resnet50 at 64x64, whose dilated layer3 / layer4 keep 8x8 maps, C -O3 52.5 -> 36.1 ms; the
 * shared zoo -1.4% (resnet18's 56-wide maps) to +0.3%, benchmarks/c-schedule-ab.ts 7 rounds,
 * 2026-12-05); one block: 8 rows, 7
 * where the target's compiler has 16 vector registers (TargetCaps.vectorRegisters: wasm-simd, whose
 * 8-row depthwise tiles spilled; fastest of 25 interleaved calls, benchmarks/wasm-schedule-ab.ts -O 3:
 * mobilenet_v2 17.00 -> 16.77 ms, efficientnet_b0 29.97 -> 29.53, resnet18 49.03 -> 48.53,
 * shufflenet_v2 8.44 -> 8.48, squeezenet1_1 15.06 -> 15.04).
 */
export function tileRows(W: number, B: number, V: number, vectorRegisters = 32): { R: number; clamp: boolean } {
  return rows(W, B >= 8 && V === 2 ? 8 : V === 2 ? 4 : Math.min(8, (vectorRegisters - 2) >> 1));
}

/**
 * Channel blocks per register tile: two when an input is shared by the blocks (a load that does not
 * move with c: a real reduction over input channels, not depthwise / pooling, whose every lane has its
 * own input), also for an odd number of blocks, whose last pair is clamped: shufflenet_v2's 58- and
 * 116-channel 1x1 convs (15 and 29 4-lane blocks) took one block x 7 rows, 8 loads per 7 multiply-adds;
 * two blocks x 4 rows, 6 per 8: whole model on wasm-simd 12.10 -> 10.43 ms (benchmarks/wasm-schedule-ab.ts
 * -O 3, fastest of 50, 2026-12-04). Clamped tiles only became cheap once min(o * 2, last) counted as
 * non-negative in the div/mod folding (pack.ts nonNeg); before, their packed-weight index kept a / 4.
 * Wide blocks (16 lanes, C) keep one block for odd counts: clamped pairs measured neutral to 3% slower
 * there (efficientnet_b0 -O3 11.13 -> 11.46 ms, mobilenet_v2 / squeezenet / shufflenet within 1%;
 * benchmarks/c-schedule-ab.ts, 7 rounds).
 */
export function tileBlocks(blocks: number, shared: boolean, B: number): 1 | 2 {
  if (!shared || blocks < 2) return 1;
  return blocks % 2 === 0 || B < 8 ? 2 : 1;
}

/**
 * unrolled lane copies per output of a channel-mixing kernel at most: GCC's time grows fast with them
 * (shufflenet_v2 -O3 model.c at -O3 -march=native: 4.2 s with none unrolled, 11.5 s up to 128, 17.4 s
 * up to 512; whole model 4.13 / 3.84 / 3.81 ms, benchmarks/c-schedule-ab.ts 9 rounds, 2026-12-05)
 */
const MAX_LANE_COPIES = 128;

const TRANSCENDENTAL = new Set(['sigmoid', 'exp', 'tanh', 'log', 'erf']);
function callsTranscendental(e: Expr): boolean {
  let found = false;
  walkExpr(e, (x) => { if (x.k === 'call' && TRANSCENDENTAL.has(x.fn)) found = true; });
  return found;
}

/** The blocked schedule for a stage, or undefined when its output is not channel-blocked. */
export function blockedStageSchedule(st: ComputeStage, caps: TargetCaps, buffers: readonly Buffer[]): Directive[] | undefined {
  const B = channelBlock(st.out.layout);
  if (!B) return undefined;
  const shape = logicalShape(st.out);
  if ((st.axes.length !== 4 && st.axes.length !== 3) || caps.vectorLanes < B) return [];
  // [n, c, h, w], or [n, c, p]: a 1x1 conv over the flattened map (gemm1x1.ts), p in place of w
  const [n, c, h, w] = st.axes.length === 4 ? st.axes : [st.axes[0], st.axes[1], undefined, st.axes[2]];
  const C = shape[1], W = shape[shape.length - 1];
  const hs = h === undefined ? [] : [h];
  const reds = reducesOf(st.body);
  // channels not a whole number of blocks: the last block computes its padding lanes too, when every
  // load provably stays inside its buffer for c up to the padded extent (else plain loops). A
  // channel-mixing copy (unrolled scalar lanes, below) guards the lanes past C instead: its loads
  // under a select (a shuffle of several inputs) have no bound the intervals can prove
  const mixing = !caps.gpu && reds.length === 0 && mixesChannels(st.body, c, B);
  const pad = C % B !== 0;
  const padded = pad && inBoundsPadded(st, reds, Math.ceil(C / B) * B, buffers);
  if (pad && !padded && !mixing) return [];
  const dirs: Directive[] = [{ d: 'split', axis: c, factor: B, ...(padded ? { tail: 'pad' as const } : {}) }];
  const ci = `${c}_i`;
  // a load under a select that moves with c (Concat's parts, guarded window taps) could leave its
  // buffer when read for every lane: such stages keep the blocked loop order but stay scalar
  const vec: Directive[] = guardedOn(st.body, c) ? [] : [{ d: 'vectorize', axis: ci }];
  if (reds.length !== 1) {
    // lanes that read channels of other blocks (a channel shuffle) would be a per-lane gather whose
    // index divides every lane (no i32x4 division): CPU targets copy the lanes as unrolled scalars,
    // whose source offsets depend on the channel block only (hoisted out of the pixel loops)
    if (mixing) {
      dirs.push({ d: 'reorder', order: [n, `${c}_o`, ...hs, w, ci] }, { d: 'unroll', axis: ci });
      // the channel blocks unroll too, up to MAX_LANE_COPIES lane copies, where the target's compiler packs
      // constant-offset lane copies into vector permutes (C: shufflenet_v2's shuffles, whole model -O3
      // 4.20 -> 4.05 ms, benchmarks/c-schedule-ab.ts 7 rounds, 2026-12-05) or where each lane selects
      // its input (a shuffle of several inputs: the selects fold away; wasm-simd shufflenet_v2 -O3
      // 9.84 -> 9.66 ms, wasm-schedule-ab fastest of 30); a one-input shuffle measured 1% slower
      // unrolled on wasm-simd (lane by lane either way)
      if ((caps.packsLaneCopies || guardedOn(st.body, c)) && Math.ceil(C / B) * B <= MAX_LANE_COPIES) dirs.push({ d: 'unroll', axis: `${c}_o` });
      return dirs;
    }
    dirs.push({ d: 'reorder', order: [n, `${c}_o`, ...hs, w, ci] }, ...vec);
    return dirs;
  }
  const R = reds[0];
  const blocks = Math.ceil(C / B);
  const V = tileBlocks(blocks, sharedLoad(R.body, c), B);
  const { R: Rw, clamp } = tileRows(W, B, V, caps.vectorRegisters);
  let cOuter = `${c}_o`;
  const inner: string[] = [];
  const unroll: string[] = [];
  if (V === 2) {
    // an odd number of blocks: the last pair is clamped (it re-computes the block before it)
    dirs.push({ d: 'split', axis: `${c}_o`, factor: 2, ...(blocks % 2 ? { tail: 'clamp' as const } : {}) });
    cOuter = `${c}_o_o`;
    inner.push(`${c}_o_i`);
    unroll.push(`${c}_o_i`);
  }
  let wOuter = w;
  if (Rw > 1) {
    dirs.push({ d: 'split', axis: w, factor: Rw, ...(clamp ? { tail: 'clamp' as const } : {}) });
    wOuter = `${w}_o`;
    inner.push(`${w}_i`);
    unroll.push(`${w}_i`);
  }
  // a reduction over blocked input channels (index (r / x, r % x)) is split by x, the div/mod fold
  // away. On CPUs its lanes run innermost, inside the window taps (kh, kw), so consecutive steps
  // read one input pixel's block (one cache line on 16 lanes) and the packed weights in order, as
  // MNN's NC4HW4 kernels do (resnet18's 512-channel 3x3 convs on 7x7: whole model x0.86 on C); GPUs
  // keep the reference's summation order (their scalar-lane schedules give the same bits)
  const outer: string[] = [], taps: string[] = [], lanes: string[] = [];
  // a 1x1 conv over a map (not a squeeze-excite's 1x1 pixel) whose epilogue computes a transcendental
  // (SiLU's sigmoid) on a target that would spill the tile around a split reduction: one loop.
  // efficientnet_b0's expansions on wasm-simd 4% faster each (aic profile --schedule, setarch -R)
  const oneByOne = R.axes.every((a, i) => i === 0 || a.extent === 1);
  // a 1x1 conv on a target with a loop-entry cost (TargetCaps.loopEntryCost) runs its lanes outside
  // its blocks (r_i, then r_o innermost: the inner loop is entered x times per tile, not once per
  // input block) where the bytes one lane pass reads (the tile's packed weights and input pixels, per
  // input block) fit in 16 KiB, so the x passes hit L1, and the input channels are whole blocks (else
  // the guard on the last block sits in the inner loop). wasm-simd -O3, fastest of 30 interleaved
  // calls (benchmarks/wasm-schedule-ab.ts): mobilenet_v2 17.74 -> 17.11 ms, shufflenet_v2 8.94 ->
  // 8.51, efficientnet_b0 30.10 -> 30.05; limits 4 / 8 / 32 KiB measured 17.54 / 17.29 / 17.14 on
  // mobilenet_v2 (its 240-block 7x7 convs 1.3x slower swapped: 45 KiB a pass)
  const passBytes = Math.ceil(R.axes[0].extent / B) * (V * B * B + Math.max(Rw, 1) * B) * 4;
  const swap = !!caps.loopEntryCost && oneByOne && R.axes[0].extent % B === 0 && passBytes <= 16384;
  const oneLoop = !!caps.splitReductionSpills && W * (h === undefined ? 1 : shape[2]) > 1
    && oneByOne && callsTranscendental(st.body);
  for (const a of R.axes) {
    // (not a whole number of blocks: the last block is guarded, still one broadcast per input lane)
    if (!oneLoop && a.extent > B && dividesBy(R.body, a.name, B)) {
      dirs.push({ d: 'split', axis: a.name, factor: B });
      outer.push(`${a.name}_o`);
      lanes.push(`${a.name}_i`);
    } else taps.push(a.name);
  }
  const red = caps.gpu ? R.axes.flatMap((a) => (outer.includes(`${a.name}_o`) ? [`${a.name}_o`, `${a.name}_i`] : [a.name])) : swap ? [...lanes, ...taps, ...outer] : [...outer, ...taps, ...lanes];
  dirs.push({ d: 'reorder', order: [n, cOuter, ...hs, wOuter, ...red, ...inner, ci] });
  // the last window tap (kw) and the lanes are one loop of kw * x steps (TargetCaps.loopEntryCost): kw's input pixels
  // and packed weight taps lie x lanes apart, so both addresses stay linear in it (pack.ts
  // simplifyDivMod) and a step is one pointer add, where a 4-step lane loop re-entered per tap (V8:
  // ~12 set-up instructions with stack reloads per 4 multiply-add steps). resnet18's stride-2 3x3
  // convs on wasm-simd -O3 3.49 / 4.00 / 3.93 -> 3.11 / 3.35 / 3.44 ms (aic profile --schedule, setarch -R)
  const kw = taps.length ? R.axes.find((a) => a.name === taps[taps.length - 1]) : undefined;
  if (caps.loopEntryCost && kw && kw.extent > 1 && lanes.length === 1) dirs.push({ d: 'fuse', axes: [kw.name, lanes[0]] });
  dirs.push(...vec);
  for (const u of unroll) dirs.push({ d: 'unroll', axis: u });
  return dirs;
}
