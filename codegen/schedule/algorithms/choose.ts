/**
 * Algorithm choice per conv kernel: direct (the op's own loop nest under the default schedule), gemm
 * (1x1 convs over the flattened spatial axis: gemm1x1.ts), direct-phases (phases.ts), direct-flat
 * (depthwise over the flattened padded plane: flat.ts), im2col + gemm (im2col.ts) or Winograd F(2x2,3x3) / F(4x4,3x3)
 * (winograd.ts), by a cost model, or as the `--schedule` file says (`kernel NAME { algorithm
 * winograd(4,3) }`, `algorithm gemm`, `algorithm direct`). The choice is recorded per program
 * for `aic compile --stats` (one line per conv / matmul kernel: shape and algorithm) and leads the
 * kernel's schedule (`--emit schedule` prints it; fed back, it reproduces the choice).
 *
 * Cost model (FLOP-equivalents, 1 thread): a GEMM-like stage costs its FLOPs divided by the share of
 * vector lanes its register tile keeps busy (packed output channels, or whole / clamped vectors over
 * the contiguous axis: OW for direct, OH*OW for gemm, the tiles T for Winograd's batched GEMM);
 * direct = 2*M*C*KH*KW*OH*OW; Winograd(m) = 2*a^2*M*C*T for the batched GEMM (a = m + 2; the padding
 * of partial tiles counts) plus the transforms, which run as scalar-ish loops: weighted max(4, lanes)x
 * their additions (input: a^3 per channel and tile, output: a^2*m per output channel and tile). Every
 * algorithm also pays per byte of weights it streams (8 on 16 lanes, lanes/2 below: see byteCost):
 * Winograd's transformed weights are a^2/9 times bigger, which on small maps with many channels
 * (resnet18's 512-channel 7x7 layer: 37.7 MB for F(4,3), each value used by 4 tiles) costs more than
 * the multiplications it saves on C (AVX-512), not on wasm-simd's 4 lanes. Winograd must
 * come out below 0.8x of direct to be chosen (0.7x on 16 lanes).
 * Winograd needs C and M >= 8 (below that the transforms cost more than they save).
 * Convs on channel-blocked buffers (NC4HW4 at -O3) choose between direct (the blocked kernel,
 * schedule/blocked.ts) and Winograd, whose stages read and write them through the layouts' index
 * maps; gemm and direct-phases do not apply to them.
 */
import { diag } from '@aic/core';
import type { TargetCaps } from '@aic/ir-spec';
import type { Directive } from '@aic/loop-ir';
import type { Program } from '../../lower/program.ts';
import { convInfo, convShape, qconvInfo, type ConvInfo } from './conv-info.ts';
import { applyFloatSum } from '../float-sum.ts';
import { applyWinograd, winogradApplies, winogradTiles } from './winograd.ts';
import { applyGemm1x1, applyQGemm1x1, gemm1x1Applies } from './gemm1x1.ts';
import { tileBlocks, tileRows } from '../blocked.ts';
import { applyPhases, phasesApplies } from './phases.ts';
import { applyIm2col, im2colApplies } from './im2col.ts';
import { applyFlat, flatApplies, flatPositions } from './flat.ts';
import { applyQWinograd, qWinogradApplies } from './qwinograd.ts';

export type Algorithm = { name: 'direct' } | { name: 'direct-phases' } | { name: 'direct-flat' } | { name: 'gemm' } | { name: 'im2col' } | { name: 'winograd'; m: 2 | 4 };
type AlgoDirective = Extract<Directive, { d: 'algorithm' }>;

export function algorithmName(a: Algorithm): string {
  return a.name === 'winograd' ? `winograd F(${a.m},3)` : a.name === 'gemm' ? 'gemm (1x1 conv over flattened HxW)' : a.name === 'direct-phases' ? 'direct-phases (input split by stride phase)' : a.name === 'im2col' ? 'im2col+gemm' : a.name === 'direct-flat' ? 'direct-flat (depthwise over the flattened padded plane)' : 'direct';
}
export function toDirective(a: Algorithm): AlgoDirective {
  return a.name === 'winograd' ? { d: 'algorithm', name: 'winograd', params: [a.m, 3] } : { d: 'algorithm', name: a.name };
}
/** An `algorithm` directive as an Algorithm (usage error, exit 2, for one aic does not have). */
export function fromDirective(d: AlgoDirective, kernel: string): Algorithm {
  if ((d.name === 'direct' || d.name === 'gemm' || d.name === 'direct-phases' || d.name === 'direct-flat' || d.name === 'im2col') && !d.params?.length) return { name: d.name };
  if (d.name === 'winograd' && d.params?.length === 2 && (d.params[0] === 2 || d.params[0] === 4) && d.params[1] === 3) return { name: 'winograd', m: d.params[0] };
  throw diag.usage(`--schedule: kernel ${kernel}: unknown algorithm '${d.name}${d.params ? `(${d.params.join(',')})` : ''}' (direct, direct-phases, direct-flat, gemm, im2col, winograd(2,3), winograd(4,3))`);
}

/**
 * FLOP-equivalents per byte of weights streamed (each conv reads its weights once per image), on a
 * 16-lane target; scaled by lanes / 16 (a byte takes the same time on any target, a FLOP-equivalent
 * 16 / lanes times longer on a narrower vector: 2 on wasm-simd, where Winograd F(4,3) on resnet18's
 * 512-channel 7x7 layers measured ~3x faster than direct despite its 37.7 MB of weights).
 */
const BYTE = 8;
const byteCost = (lanes: number) => BYTE * Math.min(lanes, 16) / 16;
/** im2col must look this much cheaper than direct (the column buffer's traffic is an estimate) */
const IM2COL_MARGIN = 0.8;
/** direct-flat must look this much cheaper than direct (flat.ts; the epilogue pass is an estimate) */
const FLAT_MARGIN = 0.8;
/** Winograd must look this much cheaper than direct (its transforms and memory passes are estimates) */
const WINOGRAD_MARGIN = 0.8;
/**
 * Wide targets (16 lanes, AVX-512): the transforms, scalar-ish loops, weigh one FLOP-equivalent per
 * lane for each addition (4 on wasm-simd's 4 lanes, as before), and Winograd must look 0.7x of direct:
 * direct's 12 x 2-vector tile with row-packed weights (schedule/wide-tile.ts) measured 3x faster than
 * F(4,3) on squeezenet's 16->64 3x3 convs on 55x55 and 1.3x on its 32->128 ones on 27x27.
 */
const transformWeight = (lanes: number) => Math.max(4, lanes);
const winogradMargin = (lanes: number) => (lanes >= 16 ? 0.7 : WINOGRAD_MARGIN);

/** Share of the vector lanes a register tile over an axis of extent n keeps busy (whole or clamped vectors of >= 4 lanes). */
function laneUse(n: number, L: number): number {
  let best = 0;
  for (let W = L; W >= 4; W /= 2) if (n >= W) best = Math.max(best, (W / L) * (n / (Math.ceil(n / W) * W)));
  return best;
}
/** lanes kept busy by packed output channels (a power of two dividing M) */
const packedUse = (M: number, L: number) => { let w = 1; while (w * 2 <= L && M % (w * 2) === 0) w *= 2; return w >= 4 ? w / L : 0; };

/** Estimated cost of each applicable algorithm (FLOP-equivalents; see the file comment). */
export function algorithmCosts(c: ConvInfo, lanes = 4): { alg: Algorithm; cost: number }[] {
  const flops = 2 * c.M * (c.C / c.group) * c.KH * c.KW * c.OH * c.OW * c.N;
  const use = (spatial: number) => Math.max(1e-3, packedUse(c.M, lanes), laneUse(spatial, lanes));
  const wBytes = 4 * c.M * (c.C / c.group) * c.KH * c.KW, BYTE = byteCost(lanes);
  const out: { alg: Algorithm; cost: number }[] = [{ alg: { name: 'direct' }, cost: flops / use(c.OW) + BYTE * wBytes }];
  // grouped (depthwise) and strided along W: no packed output channels (the input depends on them too), so
  // direct vectorizes over output columns with strided gathers; the phase split makes them contiguous
  // (phases.ts: 1.4-1.5x on a stride-2 depthwise 3x3 on wasm-simd). Dense strided convs stay direct:
  // packed output channels x pixel rows measured faster there than channel rows x column vectors.
  // blocked (-O3): Winograd's stages run over whole channel vectors (winograd.ts blockedStages); on C
  // resnet18 -O3/-O2 went 1.43 -> 1.01 when its 3x3 convs took it (o3-vs-o2-kernels.ts, 2026-12-04)
  if (c.blocked) {
    // a blocked 1x1 conv over the flattened map (gemm1x1.ts) when its register tiles waste fewer rows
    // than tiles along each row: mobilenet_v2's 14x14 maps on wasm-simd (4 clamped tiles of 4 per row,
    // 16 computed for 14) whole model 22.16 -> 20.83 ms; where the rows divide the width exactly it
    // measured slower (shufflenet_v2's one-block 7-row tiles on 28 / 14 against 8 on 784 / 196:
    // 12.17 -> 13.71 ms; benchmarks/wasm-schedule-ab.ts -O 3, fastest of 60, 2026-12-04). V and the rows
    // as blocked.ts tiles them (tileBlocks, tileRows)
    if (gemm1x1Applies(c)) {
      const B = Math.min(lanes, 16), V = tileBlocks(Math.ceil(c.M / B), true, B);
      const computed = (W: number, H: number) => { const { R } = tileRows(W, B, V); return H * Math.ceil(W / R) * R; };
      const rowWise = computed(c.OW, c.OH), flat = computed(c.OH * c.OW, 1);
      if (flat < rowWise) out.push({ alg: { name: 'gemm' }, cost: out[0].cost * flat / rowWise });
    }
    if (!winogradApplies(c) || c.C < 8 || c.M < 8) return out;
    if (lanes < 16) return [...out, ...winogradCosts(c, lanes)];
    // 16-lane blocks (C, AVX-512): every Winograd stage moves whole 16-channel vectors and the batched
    // GEMM streams each channel block's transformed weights once, in order (defaults.ts batchInWeight),
    // so its estimate needs no margin and a weight byte weighs half (for direct too): resnet18 -O3
    // 22.93 -> 20.65 ms with layer3 (256 ch, 14x14) on F(4,3) and layer4 (512, 7x7) on F(2,3) instead
    // of F(2,3) / direct, squeezenet1_1 6.91 -> 6.48 with its 27x27 3x3s on F(4,3), 6.63 with the 13x13
    // ones, 6.78 with the 55x55 ones (benchmarks/c-schedule-ab.ts -O 3, 7 rounds, 2026-12-05); row-major
    // (-O2) layer3 on F(4,3) measured 1.9 ms slower, so this holds for blocked convs only
    const direct = { alg: out[0].alg, cost: out[0].cost - byteCost(lanes) * wBytes / 2 };
    return [direct, ...out.slice(1).map((o) => ({ ...o, cost: o.cost * direct.cost / out[0].cost })), ...winogradCosts(c, lanes, { margin: 1, byte: 0.5 })];
  }
  // a dense strided conv with a reduction too short for packed output channels (a first conv's 3 x 3 x 3:
  // defaults.ts then vectorizes output columns, when there are enough) reads its columns by stride phase too
  const shortReduce = (c.C / c.group) * c.KH * c.KW < 4 * lanes && c.OW >= 8;
  // a strided stem (fewer input channels than lanes: 3x224x224 -> 64, k7 s2) too: its direct loop reads
  // the input at stride 2 across C*KH rows, and on row widths near powers of two (256, 320, 384) those
  // rows share cache sets: 4.6x slower than direct-phases at 320x320 on C, equal at 224
  // (benchmarks/c-schedule-ab.ts on a one-conv model, 2026-12-03)
  const stem = c.C / c.group < lanes && c.OW >= 8;
  if (phasesApplies(c) && (c.group > 1 || shortReduce || stem) && laneUse(c.OW, lanes) > 0) out.push({ alg: { name: 'direct-phases' }, cost: out[0].cost * 0.999 });
  if (gemm1x1Applies(c)) out.push({ alg: { name: 'gemm' }, cost: (flops / use(c.OH * c.OW) + BYTE * wBytes) * 0.999 });
  // depthwise on a narrow map: direct's vectors span OW columns (no packed output channels: the input
  // depends on them too); direct-flat's span the Q positions of the flattened padded plane, plus one
  // scalar pass (weighted `lanes`) that applies the epilogue at the OH*OW valid ones. Relative to
  // direct, and it must look FLAT_MARGIN of it: 16 lanes on 7x7 / 14x14 maps, never wasm-simd's 4
  if (flatApplies(c) && laneUse(c.OW, lanes) < 1) {
    const Q = flatPositions(c), perPos = flops / (c.OH * c.OW);
    const dw = perPos * c.OH * c.OW / Math.max(1e-3, laneUse(c.OW, lanes));
    const flat = perPos * Q / Math.max(1e-3, laneUse(Q, lanes)) + lanes * c.N * c.M * c.OH * c.OW;
    out.push({ alg: { name: 'direct-flat' }, cost: out[0].cost * flat / dw / FLAT_MARGIN });
  }
  // im2col: the GEMM over all OH*OW positions, plus the column copy (C*KH*KW*OH*OW values, weighted
  // like Winograd's transform additions); wins only where neither packed output channels nor output
  // columns fill the vectors (few output channels on a narrow map), so it must look 0.8x of direct
  if (im2colApplies(c)) {
    const copy = 2 * transformWeight(lanes) * c.N * c.C * c.KH * c.KW * c.OH * c.OW;
    out.push({ alg: { name: 'im2col' }, cost: (flops / use(c.OH * c.OW) + BYTE * wBytes + copy) / IM2COL_MARGIN });
  }
  if (!winogradApplies(c) || c.C < 8 || c.M < 8) return out;
  return [...out, ...winogradCosts(c, lanes)];
}

/** Winograd F(2,3) and F(4,3); `wide` (16-lane blocks): no margin, a weight byte at half (see algorithmCosts) */
function winogradCosts(c: ConvInfo, lanes: number, wide?: { margin: number; byte: number }): { alg: Algorithm; cost: number }[] {
  const use = (spatial: number) => Math.max(1e-3, packedUse(c.M, lanes), laneUse(spatial, lanes));
  return ([2, 4] as const).map((m) => {
    const a = m + 2, { T } = winogradTiles(c, m);
    const tw = transformWeight(lanes);
    const cost = 2 * a * a * c.M * c.C * T / use(T) + byteCost(lanes) * (wide?.byte ?? 1) * 4 * a * a * c.M * c.C + tw * a ** 3 * c.C * T + tw * a * a * m * c.M * T;
    return { alg: { name: 'winograd', m }, cost: cost / (wide?.margin ?? winogradMargin(lanes)) };
  });
}

/** what each kernel of a program was computed with, for --stats */
const CHOSEN = new WeakMap<Program, Map<string, { shape: string; algorithm: string }>>();

/**
 * Choose and apply an algorithm for every conv kernel (overrides: the --schedule file's `algorithm`
 * directives by kernel). Returns the `algorithm` directive of each kernel that is not direct, or that
 * an override names (`accumulate f32` for a direct one whose integer sum went to f32), to lead its schedule.
 */
export function chooseAlgorithms(prog: Program, caps: TargetCaps, overrides?: Map<string, Directive[]>): Map<string, AlgoDirective | Extract<Directive, { d: 'accumulate' }>> {
  const out = new Map<string, AlgoDirective | Extract<Directive, { d: 'accumulate' }>>();
  const record = new Map<string, { shape: string; algorithm: string }>();
  CHOSEN.set(prog, record);
  for (const [name, src] of prog.sources) {
    const asked = overrides?.get(name)?.find((d): d is AlgoDirective => d.d === 'algorithm');
    // blocked (-O3) convs: Winograd goes through the index maps; gemm / direct-phases do not (yet)
    const c = convInfo(prog, name, true);
    // int8 1x1 convs over the flattened map too, unless the schedule file asks for another algorithm
    const q = !c && (!asked || fromDirective(asked, name).name === 'gemm') ? applyQGemm1x1(prog, name) : undefined;
    if (q) { record.set(name, { shape: q, algorithm: algorithmName({ name: 'gemm' }) }); out.set(name, toDirective({ name: 'gemm' })); continue; }
    // int8 convs that read their input differently as f32 ones do: direct-flat (depthwise, narrow maps)
    // and direct-phases (strided depthwise); the integer sum is computed as it is
    const summed = !c && floatSum(prog, name, caps, overrides?.get(name)?.find((d) => d.d === 'accumulate'));
    const qa = !c ? qconvAlgorithm(prog, name, caps, asked && fromDirective(asked, name)) : undefined;
    const sum = summed ? ', sum in f32 lanes' : '';
    if (qa) { record.set(name, { shape: qa.shape, algorithm: algorithmName(qa.alg) + sum }); out.set(name, toDirective(qa.alg)); continue; }
    // the rewritten kernel must be realized even where no loop directive applies (a 3x3 output): its
    // schedule then holds just this (realizing nothing would keep the int32 kernel lowered first,
    // whose weight the rewrite replaced)
    if (summed) { record.set(name, { shape: summed, algorithm: `direct${sum}` }); out.set(name, { d: 'accumulate', type: 'f32' }); }
    else if (!c) { const q = qconvInfo(prog, name); if (q) record.set(name, { shape: convShape(q), algorithm: 'direct' }); }
    if (!c) {
      if (asked && fromDirective(asked, name).name !== 'direct') throw diag.usage(`--schedule: kernel ${name} (${src.op}) is not a 2-d f32 convolution with a constant weight: only 'algorithm direct' applies`);
      if (/^(Fused)?(MatMul|Gemm)$/.test(src.op)) record.set(name, { shape: `${src.op.toLowerCase()} ${src.params.map((p) => p.shape.join('x')).join(', ')}`, algorithm: 'gemm (register tile)' });
      continue;
    }
    let alg: Algorithm;
    if (asked) {
      alg = fromDirective(asked, name);
      if (c.blocked && (alg.name === 'direct-phases' || alg.name === 'direct-flat' || alg.name === 'im2col')) throw diag.usage(`--schedule: kernel ${name}: ${alg.name} does not apply to a conv on channel-blocked buffers (-O3): direct, gemm (1x1) or winograd`);
      if (alg.name === 'winograd' && !winogradApplies(c)) throw diag.usage(`--schedule: kernel ${name}: winograd needs a 3x3 stride-1 dilation-1 ungrouped conv (${convShape(c)})`);
      if (alg.name === 'direct-phases' && !phasesApplies(c)) throw diag.usage(`--schedule: kernel ${name}: direct-phases needs a conv with a stride > 1 along W and at least 4 output columns (${convShape(c)})`);
      if (alg.name === 'gemm' && !gemm1x1Applies(c)) throw diag.usage(`--schedule: kernel ${name}: gemm needs a 1x1 stride-1 unpadded ungrouped conv (${convShape(c)})`);
      if (alg.name === 'direct-flat' && !flatApplies(c)) throw diag.usage(`--schedule: kernel ${name}: direct-flat needs a stride-1 conv with one input channel per output channel (depthwise) (${convShape(c)})`);
      if (alg.name === 'im2col' && !im2colApplies(c)) throw diag.usage(`--schedule: kernel ${name}: im2col needs an ungrouped conv that is not a 1x1 stride-1 unpadded one (gemm) and a column buffer of at most 16 MiB (${convShape(c)})`);
    } else {
      alg = caps.vectorLanes > 1 ? algorithmCosts(c, caps.vectorLanes).reduce((x, y) => (y.cost < x.cost ? y : x)).alg : { name: 'direct' };
    }
    if (alg.name === 'winograd' && !applyWinograd(prog, name, c, alg.m)) alg = { name: 'direct' };
    if (alg.name === 'gemm' && !applyGemm1x1(prog, name, c)) alg = { name: 'direct' };
    if (alg.name === 'direct-phases' && !applyPhases(prog, name, c, caps.vectorLanes)) alg = { name: 'direct' };
    if (alg.name === 'im2col' && !applyIm2col(prog, name, c)) alg = { name: 'direct' };
    if (alg.name === 'direct-flat' && !applyFlat(prog, name, c)) alg = { name: 'direct' };
    record.set(name, { shape: convShape(c), algorithm: algorithmName(alg) });
    if (asked || alg.name !== 'direct') out.set(name, toDirective(alg));
  }
  return out;
}

/**
 * An int8 aic.QConv computed by direct-flat (depthwise, stride 1), direct-phases (strided, grouped) or
 * Winograd F(2,3) in integers (qwinograd.ts: 3x3 stride-1 ungrouped): the one the schedule asks for,
 * or with no ask the one the cost model prefers to direct. Applied; the algorithm and the conv's shape
 * for --stats, or undefined (direct).
 */
function qconvAlgorithm(prog: Program, name: string, caps: TargetCaps, asked: Algorithm | undefined): { alg: Algorithm; shape: string } | undefined {
  const lanes = caps.vectorLanes;
  if (asked && asked.name !== 'direct-flat' && asked.name !== 'direct-phases' && asked.name !== 'winograd') return undefined;
  // channel-blocked (layout-nc4hw4{int8=true}): Winograd goes through the index maps, direct-flat / phases do not
  const c = qconvInfo(prog, name, true);
  const fits = (a: Algorithm) => !!c && lanes > 1 && (a.name === 'direct-flat' ? !c.blocked && flatApplies(c) : a.name === 'direct-phases' ? !c.blocked && phasesApplies(c) && c.group > 1 : a.name === 'winograd' ? a.m === 2 && qWinogradApplies(c) : a.name === 'direct');
  // by default not on output rows narrower than the vector (C's 16 lanes on 14 or 7 columns): direct's
  // clamped column vectors cover such a row, and the int8 phase copy converts each strided element in
  // scalar code: mobilenet_v2 int8 on C 2.49 -> 2.33 ms (benchmarks/c-schedule-ab.ts); 0.083 -> 0.025 ms
  // for its 28x28 -> 14x14 depthwise kernel. (f32 measured no faster whole-model: it keeps the cost model's)
  // Winograd by default where the integer dot products come in pairs (wasm-simd: i32x4.dot_i16x8_s),
  // not where they come in quads (C with VNNI: direct does 4 multiply-adds per lane and instruction)
  const preferred = (a: Algorithm) => fits(a) && !(a.name === 'direct-phases' && c!.OW < lanes) && (a.name !== 'winograd' || caps.intDot === 2);
  if (asked && !fits(asked)) {
    const shape = c ? ` (${convShape(c)})` : '';
    if (asked.name === 'winograd' && asked.m !== 2) throw diag.usage(`--schedule: kernel ${name}: int8 convs have winograd(2,3) only, not winograd(${asked.m},3)${shape}`);
    if (c?.blocked && asked.name !== 'winograd') throw diag.usage(`--schedule: kernel ${name}: ${asked.name} does not apply to an int8 conv on channel-blocked buffers: direct or winograd`);
    const need = asked.name === 'direct-flat' ? 'a stride-1 conv with one input channel per output channel (depthwise)' : asked.name === 'winograd' ? 'a 3x3 stride-1 dilation-1 ungrouped conv with at least 8 input and output channels' : 'a grouped conv with a stride > 1 along W and at least 4 output columns';
    throw diag.usage(`--schedule: kernel ${name}: ${asked.name} needs ${need}${shape}`);
  }
  if (!c || lanes <= 1) return undefined;
  const wino: Algorithm = { name: 'winograd', m: 2 };
  const alg = asked ?? (preferred(wino) ? wino : algorithmCosts(c, lanes).filter((x) => preferred(x.alg)).reduce((x, y) => (y.cost < x.cost ? y : x)).alg);
  const done = alg.name === 'direct-flat' ? applyFlat(prog, name, c) : alg.name === 'direct-phases' ? applyPhases(prog, name, c, lanes) : alg.name === 'winograd' ? applyQWinograd(prog, name, c, lanes) : false;
  if (!done && asked?.name === 'winograd') throw diag.usage(`--schedule: kernel ${name}: winograd(2,3) does not apply to this int8 conv: a partial sum could pass int32, or its sum is not the padded input times the int8 weight (${convShape(c)})`);
  return done ? { alg, shape: convShape(c) } : undefined;
}

/**
 * An integer sum in f32 lanes (float-sum.ts): asked by the schedule's `accumulate f32` (a usage error
 * where it is not exact), or by default for int8 grouped / depthwise convs (no channel axis for the
 * integer dot products) on targets that fuse multiply-adds, unless the schedule says `accumulate i32`.
 * The kernel's shape for --stats when applied.
 */
function floatSum(prog: Program, name: string, caps: TargetCaps, asked: Directive | undefined): string | undefined {
  if (asked?.d === 'accumulate' && asked.type === 'i32') return undefined;
  const q = qconvInfo(prog, name, true);
  if (asked?.d === 'accumulate') {
    if (!applyFloatSum(prog, name)) throw diag.usage(`--schedule: kernel ${name}: accumulate f32 needs an integer sum of products whose partial sums stay within 2^24 (terms x largest operands), where f32 is exact`);
    return q ? convShape(q) : 'integer sum';
  }
  if (!q || !caps.fma || caps.vectorLanes <= 1 || q.group <= 1 || !applyFloatSum(prog, name)) return undefined;
  return convShape(q);
}

/** `--stats`: one line per conv / matmul kernel, its shape and algorithm. */
export function algorithmStats(prog: Program): string {
  const r = CHOSEN.get(prog);
  if (!r?.size) return '';
  const w = Math.max(...[...r.keys()].map((k) => k.length));
  return [...r].map(([k, v]) => `kernel ${k.padEnd(w)}  ${v.shape}  ${v.algorithm}\n`).join('');
}
