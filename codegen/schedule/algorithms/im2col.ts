/**
 * Im2Col + GEMM ("im2col"): the conv's input patches are copied once into a column buffer
 * col[n, (c, kh, kw), oh, ow] = X[n, c, oh*s + kh*d - p, ow*s + kw*d - p] (the value the conv's own
 * load reads, from its padded copy or from X), and the conv becomes one GEMM per image over the
 * flattened output positions: Y[n, o, p] = sum over (c, kh, kw) of W[o, c, kh, kw] * col[n, (c, kh, kw), p]
 * (gemm1x1.ts re-indexes the stage over [n, o, p]), so the default GEMM schedule tiles a long
 * contiguous axis whatever the stride, dilation or kernel size. The sum keeps its terms and their
 * order: results are identical to direct. Ungrouped convs whose column buffer fits COL_BYTES.
 * The default schedule tiles the column buffer (tileColumns): the GEMM's loop over blocks of output
 * positions goes outermost and the copy is computed at it, so each block's columns
 * (C*KH*KW x a few vectors) are written and read back in cache instead of the whole buffer.
 */
import { E, flatIndex, mapExpr, substitute, type Buffer, type ComputeStage, type Directive, type Expr } from '@aic/loop-ir';
import type { KernelSource, Program } from '../../lower/program.ts';
import { peelIndex } from '../pack.ts';
import { convInputLoad, type ConvInfo } from './conv-info.ts';
import { applyGemm1x1, gemm1x1Applies } from './gemm1x1.ts';

/** the column buffer's limit per kernel (it is scratch memory of the kernel) */
const COL_BYTES = 16 << 20;

export function im2colApplies(c: ConvInfo): boolean {
  return c.group === 1 && !c.blocked && !gemm1x1Applies(c) && 4 * c.N * c.C * c.KH * c.KW * c.OH * c.OW <= COL_BYTES;
}


/**
 * Rewrite kernel `kernel` (a conv with `im2colApplies`) as column copy + GEMM. Returns false (nothing
 * changed) when the conv's input is not one unguarded load over (n, c, oh, kh, ow, kw).
 */
export function applyIm2col(prog: Program, kernel: string, c: ConvInfo): boolean {
  const src = prog.sources.get(kernel)!;
  const st = src.stages[c.stage] as ComputeStage;
  const [n, , oh, ow] = st.axes;
  const red = c.reduce.axes;
  if (red.length !== 3 || red[0].extent !== c.C || red[1].extent !== c.KH || red[2].extent !== c.KW) return false;
  const input = convInputLoad(src, c);
  if (!input || !peelIndex(input.load.idx, input.buf.shape)) return false;
  const loads = [input.load];
  const KK = c.KH * c.KW, CKK = c.C * KK;
  const col: Buffer = { name: src.fresh('col'), dtype: 'f32', shape: [c.N, CKK, c.OH, c.OW], scope: 'local', role: 'scratch' };
  // the copy: the conv's own load with (n, c, kh, kw, oh, ow) taken from the column buffer's axes
  const [cn, ck, coh, cow] = ['cn', 'ck', 'coh', 'cow'].map((v) => src.fresh(v));
  const k = E.v(ck);
  const sub: Record<string, Expr> = {
    [n]: E.v(cn), [oh]: E.v(coh), [ow]: E.v(cow),
    [red[0].name]: E.div(k, E.i(KK)), [red[1].name]: E.mod(E.div(k, E.i(c.KW)), E.i(c.KH)), [red[2].name]: E.mod(k, E.i(c.KW)),
  };
  const copy: ComputeStage = { kind: 'compute', out: col, axes: [cn, ck, coh, cow], body: substitute(loads[0], sub) };
  // the conv reads col[n, (c*KH + kh)*KW + kw, oh, ow]
  const kIdx = E.add(E.mul(E.add(E.mul(E.v(red[0].name), E.i(c.KH)), E.v(red[1].name)), E.i(c.KW)), E.v(red[2].name));
  const colLoad = { ...loads[0], buf: col.name, idx: flatIndex([E.v(n), kIdx, E.v(oh), E.v(ow)], col.shape) };
  const key = JSON.stringify(loads[0]);
  const body = mapExpr(st.body, (x) => (x.k === 'load' && JSON.stringify(x) === key ? colLoad : x));
  const saved = { stages: src.stages, temps: src.temps };
  src.stages = [...src.stages.slice(0, c.stage), copy, { ...st, body }, ...src.stages.slice(c.stage + 1)];
  src.temps = [...src.temps, col];
  if (!applyGemm1x1(prog, kernel, { ...c, stage: c.stage + 1 })) {
    src.stages = saved.stages;
    src.temps = saved.temps;
    return false;
  }
  return true;
}

/**
 * The default schedule of an im2col kernel with its column buffer tiled: the GEMM's outer loop over
 * output positions (the split of its `p` axis) moves before the output-channel blocks and the column
 * copy is computed at it (`compute-at col at p_o`). Unchanged when `p` is not split or is one block.
 */
export function tileColumns(src: KernelSource, dirs: Directive[]): Directive[] {
  const col = src.temps.find((b) => /^col\d*$/.test(b.name));
  const gemm = src.stages.find((s): s is ComputeStage => s.kind === 'compute' && s.axes.length === 3);
  if (!col || !gemm) return dirs;
  const pOut = `${gemm.axes[2]}_o`;
  // one block of positions (a split by the whole extent: rows of a tile over a 3x3 map) is no loop
  const pSplit = dirs.find((d): d is Extract<Directive, { d: 'split' }> => d.d === 'split' && d.axis === gemm.axes[2]);
  if (pSplit && pSplit.factor >= gemm.out.shape[2]) return dirs;
  const r = dirs.findIndex((d) => d.d === 'reorder' && d.order.includes(pOut) && d.order[0] === gemm.axes[0]);
  if (r < 0) return dirs;
  const order = (dirs[r] as Extract<Directive, { d: 'reorder' }>).order.filter((a) => a !== pOut);
  const out = dirs.slice();
  out[r] = { d: 'reorder', order: [order[0], pOut, ...order.slice(1)] };
  return [...out, { d: 'compute-at', buf: col.name, at: pOut }];
}
