/**
 * 1x1 convolution (stride 1, no padding, one group) as one GEMM per image: Y[n, o, p] = sum_c
 * W[o, c] X[n, c, p] over the flattened spatial axis p = oh*OW + ow. The stage's loads are re-indexed
 * over [.., P] instead of [.., OH, OW] (same memory, row-major), so the default GEMM schedule tiles a
 * long contiguous axis: on a 13x13 or 7x7 map the vectors run over all P positions (one clamped block)
 * instead of 13 or 7 at a time (half-width vectors, a tail per row). The epilogue (bias, residual,
 * activation) stays in the stage as it is.
 * On channel-blocked buffers (-O3: [N, C/x, H, W, x]) the same flattening reads [N, C/x, H*W, x] (the same
 * memory: a block's pixels are one contiguous run) and stores through a blocked [N, M, P] layout, so the
 * register tile runs over P (a 14x14 map: 49 tiles of 4 pixels instead of 4 clamped ones per row, 16
 * computed for 14).
 */
import { E, channelBlock, flatIndex, mapExpr, physicalShapeOf, simplifyExpr, substitute, walkExpr, type BufferLayout, type ComputeStage, type Expr } from '@aic/loop-ir';
import type { Program } from '../../lower/program.ts';
import { peelIndex } from '../pack.ts';
import { qconvInfo, type ConvInfo } from './conv-info.ts';

export function gemm1x1Applies(c: ConvInfo): boolean {
  return c.KH === 1 && c.KW === 1 && c.strides.every((s) => s === 1) && c.pads.every((p) => p === 0) && c.group === 1 && c.OH === c.H && c.OW === c.W;
}

/** Rewrite the conv's stage over [n, o, p]; false (nothing changed) when a load is not over [.., oh, ow]. */
export function applyGemm1x1(prog: Program, kernel: string, c: ConvInfo): boolean {
  const src = prog.sources.get(kernel)!;
  const st = src.stages[c.stage] as ComputeStage;
  const [n, o, oh, ow] = st.axes;
  const P = c.OH * c.OW;
  const p = src.fresh('p');
  // extent-1 reduction axes (kh, kw) are 0
  const zero = Object.fromEntries(c.reduce.axes.filter((a) => a.extent === 1).map((a) => [a.name, E.i(0)]));
  const isVar = (e: Expr, v: string) => { const s = simplifyExpr(substitute(e, zero)); return s.k === 'var' && s.name === v; };
  const shapes = new Map([...src.params, ...src.temps].map((b) => [b.name, b.shape]));
  let ok = true;
  const body = mapExpr(st.body, (x) => {
    if (x.k !== 'load') return x;
    const shape = shapes.get(x.buf);
    const idx = shape ? peelIndex(x.idx, shape) : undefined;
    const uses = (v: string) => { let u = false; walkExpr(x.idx, (y) => { if (y.k === 'var' && y.name === v) u = true; }); return u; };
    if (!uses(oh) && !uses(ow)) return x;
    // row-major [N, C, H, W] or blocked [N, C/x, H, W, x]
    if (!shape || !idx || (shape.length !== 4 && shape.length !== 5) || shape[2] !== c.OH || shape[3] !== c.OW || !isVar(idx[2], oh) || !isVar(idx[3], ow)) { ok = false; return x; }
    return { ...x, idx: flatIndex([idx[0], idx[1], E.v(p), ...idx.slice(4)], [shape[0], shape[1], P, ...shape.slice(4)]) };
  });
  if (!ok) return false;
  let still = false;
  walkExpr(body, (x) => { if (x.k === 'var' && (x.name === oh || x.name === ow)) still = true; });
  if (still) return false;
  const B = channelBlock(st.out.layout);
  if (st.out.layout && !B) return false;
  const layout: BufferLayout | undefined = B ? {
    name: st.out.layout!.name, logical: [c.N, c.M, P],
    dims: [{ dim: 0, part: 'whole' }, { dim: 1, part: 'outer', block: B }, { dim: 2, part: 'whole' }, { dim: 1, part: 'inner', block: B }],
  } : undefined;
  const out = layout ? { ...st.out, shape: physicalShapeOf(layout), layout } : { ...st.out, shape: [c.N, c.M, P] };
  src.stages = src.stages.map((s, i) => (i === c.stage ? { ...st, out, axes: [n, o, p], body } : s));
  return true;
}

/**
 * An int8 aic.QConv that the flattening applies to (1x1, stride 1, unpadded, one group, row-major, a
 * map more than one row high): what applyGemm1x1 needs of it and a description for --stats.
 */
export function qconv1x1(prog: Program, kernel: string): { info: ConvInfo; shape: string } | undefined {
  const c = qconvInfo(prog, kernel);
  if (!c || c.KH !== 1 || c.KW !== 1 || c.OH < 2 || c.group !== 1 || !gemm1x1Applies(c)) return undefined;
  return { info: c, shape: `qconv ${c.N}x${c.C}x${c.H}x${c.W} -> ${c.M}x${c.OH}x${c.OW} k1x1` };
}

/**
 * The same flattening for an int8 aic.QConv (qconv1x1): its int32 sum then vectorizes over all
 * OH*OW positions (a 7x7 map: 16 lanes of 49 positions instead of 4 of 7 columns) before int-dot.ts
 * packs its operands (it reads the flattened loads through a [.., OH*OW] view of the input). Returns
 * the --stats description, or undefined when it does not apply (nothing changed).
 */
export function applyQGemm1x1(prog: Program, kernel: string): string | undefined {
  const q = qconv1x1(prog, kernel);
  return q && applyGemm1x1(prog, kernel, q.info) ? q.shape : undefined;
}
