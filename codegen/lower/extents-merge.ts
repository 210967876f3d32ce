/**
 * Merging the programs lowered at several values of a symbol (lower/extents.ts) into one: equal parts
 * as they are; a number that differs must be a polynomial of the symbol (or, for a guarded split's
 * outer extent, ceil(p(S) / f)) and becomes a loop-IR expression of the extent variable; buffers are
 * sized for the maximum; anything else differing is AIC0454.
 */
import { Tensor, diag } from '@aic/core';
import { E, S, walkExprs, type Buffer, type Expr, type Kernel, type Stmt } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from './program.ts';
import type { ExtentSpec } from './extents.ts';
import { hoistGuards } from './hoist-guards.ts';
import { versionGuards } from './version-guards.ts';
import { fitPoly, floatExpr, polyAt, polyExpr, type Poly } from './extents-fit.ts';

const VAR = 'aic_S';
const DIMS = 'aic_dims';

export function shapeOf(progs: Program[], what: string, keys: string[]): void {
  if (keys.some((k) => k !== keys[0])) throw diag.extentUnsupported('', `changes the model's ${what} from one value to another (the compiled program is not the same at every length)`);
}

/** Merge the programs lowered at xs (xs[0] the maximum) into one with run-time extents. */
export function mergePrograms(progs: Program[], xs: number[], spec: ExtentSpec, atMax: Program, divisors: Map<string, number[]>, hoist: boolean): Program {
  const sym = spec.symbol;
  const p0 = progs[0]!;
  const fail = (what: string) => diag.extentUnsupported(sym, what);
  // messages name the ONNX node a kernel computes (what a user knows), then the kernel
  const kernelOf = (k: string) => { const st = p0.steps.find((x) => x.kernel === k); return st ? `node '${st.node}' (kernel ${k})` : `kernel ${k}`; };
  const lists = ['inputs', 'outputs', 'weights', 'temps'] as const;
  for (const l of lists) shapeOf(progs, `${l}`, progs.map((p) => p[l].map((b) => `${b.name}:${b.dtype}:${b.shape.length}`).join(',')));
  shapeOf(progs, 'kernel calls', progs.map((p) => JSON.stringify(p.steps.map((s) => [s.kernel, s.args]))));
  const dims: Record<string, (number | Poly)[]> = {};
  const varying: ProgramBuffer[] = [];
  const sized = new Map<string, number[]>();
  const longest = new Map<string, ProgramBuffer>();
  for (const l of lists) {
    p0[l].forEach((b, j) => {
      const bs = progs.map((p) => p[l][j]!);
      const d = b.shape.map((n, k) => {
        const ys = bs.map((x) => x.shape[k]!);
        if (ys.every((y) => y === n)) return n;
        const poly = fitPoly(xs, ys);
        if (!poly) throw fail(`gives buffer '${b.value}' dim ${k} the sizes ${ys.join(', ')} at ${xs.join(', ')}, not a polynomial of it`);
        return poly;
      });
      if (d.some((x) => typeof x !== 'number')) {
        if (b.layout) throw fail(`reaches '${b.value}', which has a blocked layout`);
        if (b.extent) throw fail(`meets '${b.value}', whose size the data decides`);
        if (l === 'inputs' || l === 'outputs') dims[b.name] = d;
      }
      if (d.some((x) => typeof x !== 'number')) sized.set(b.name, d.map((x) => (typeof x === 'number' ? x : polyAt(x, spec.max))));
      if (l === 'weights') {
        const wm = atMax.weights.find((w) => w.name === b.name);
        const full = wm?.data && sized.has(b.name) && wm.shape.join() === sized.get(b.name)!.join() ? wm : undefined;
        if (full) longest.set(b.name, full);
        if (!prefixOfMax(full ?? b, bs)) varying.push(b);
      }
    });
  }
  const resize = (b: ProgramBuffer): ProgramBuffer => (longest.has(b.name) ? { ...b, shape: sized.get(b.name)!, data: longest.get(b.name)!.data } : sized.has(b.name) ? { ...b, shape: sized.get(b.name)! } : b);
  const polys = [{ c: [0, 1] }, { c: [0, 0, 1] }, ...Object.values(dims).flat().filter((x): x is Poly => typeof x !== 'number')];
  const sVar = E.v(VAR);
  const kernels = p0.kernels.map((k0, i) => {
    const ks = progs.map((p) => p.kernels[i]!);
    const m: Merge = { xs, s: sVar, max: spec.max, divisors: divisors.get(k0.name) ?? [], polys, fail };
    let body = mergeNode(ks.map((k) => k.body), kernelOf(k0.name), m) as Stmt;
    const params = k0.params.map((b, j) => mergeBuffer(ks.map((k) => k.params[j]!), kernelOf(k0.name), m, true));
    if (!usesVar(body)) return { ...k0, params, body };
    if (hoist) body = hoistGuards(body);
    body = versionGuards(body);
    const dimsParam: Buffer = { name: DIMS, dtype: 'i32', shape: [1], scope: 'global', role: 'weight' };
    return { ...k0, params: [...params, dimsParam], body: S.let(VAR, 'i32', E.load(DIMS, E.i(0), 'i32'), body) } as Kernel;
  });
  // a constant whose contents depend on the symbol otherwise (a folded shape vector): no kernel may read it
  for (const w of varying) {
    const read = p0.steps.find((st) => { const k = kernels.find((x) => x.name === st.kernel)!; return st.args.some((a, j) => a === w.name && reads(k.body, k.params[j]!.name)); });
    if (read) throw fail(`folds constant '${w.value}', read by ${read.node}, to contents that depend on it (not the first elements of the one at the maximum)`);
  }
  // kernel-private temps sized for the maximum (WGSL keeps them apart from the kernel bodies: render.ts scratch)
  const sources = new Map([...p0.sources].map(([name, src]) => {
    const m: Merge = { xs, s: sVar, max: spec.max, divisors: [], polys, fail };
    if (progs.some((p) => p.sources.get(name)?.temps.length !== src.temps.length)) throw fail(`changes the temporaries of ${kernelOf(name)}`);
    return [name, { ...src, temps: src.temps.map((t, j) => mergeBuffer(progs.map((p) => p.sources.get(name)!.temps[j]!), kernelOf(name), m, true)) }];
  }));
  const dimsBuf: ProgramBuffer = { name: `w_${DIMS}`, dtype: 'i32', shape: [1], scope: 'global', role: 'weight', value: `${sym}:extent`, data: new Tensor('int32', [1], Int32Array.from([spec.max])) };
  const steps = p0.steps.map((st, i) => (kernels.find((k) => k.name === st.kernel)!.params.some((p) => p.name === DIMS) ? { ...st, args: [...st.args, dimsBuf.name] } : st));
  return {
    ...p0, kernels, steps, sources, weights: [...p0.weights.map(resize), dimsBuf],
    inputs: p0.inputs.map(resize), outputs: p0.outputs.map(resize), temps: p0.temps.map(resize),
    extents: { symbol: sym, max: spec.max, dims, buffer: dimsBuf.name, values: xs, split: false },
  };
}

/** Is a weight, at every value, the first elements of the one at the maximum (a slice of a position table)? */
function prefixOfMax(b: ProgramBuffer, bs: ProgramBuffer[]): boolean {
  const d0 = b.data;
  return bs.every(({ data: d }) => !d0 || !d
    || (d.size <= d0.size && Array.from({ length: d.size }, (_, i) => i).every((i) => Object.is(Number(d.num[i]), Number(d0.num[i])))));
}

function reads(s: Stmt, buf: string): boolean {
  let r = false;
  walkExprs(s, (e) => { if (e.k === 'load' && e.buf === buf) r = true; });
  return r;
}

function usesVar(s: Stmt): boolean {
  return JSON.stringify(s).includes(`"name":"${VAR}"`);
}

interface Merge { xs: number[]; s: Expr; max: number; divisors: number[]; polys: Poly[]; fail: (w: string) => Error }

/** A buffer of a kernel at every value: sized for the maximum (its dims polynomials of the symbol); register tiles may not depend on it. */
function mergeBuffer(bs: Buffer[], where: string, m: Merge, sizedByS: boolean): Buffer {
  const b = bs[0]!;
  if (bs.some((x) => x.dtype !== b.dtype || x.shape.length !== b.shape.length)) throw m.fail(`changes buffer '${b.name}' of ${where}`);
  if (bs.every((x) => x.shape.every((n, k) => n === b.shape[k]))) return b;
  if (!sizedByS) throw m.fail(`sizes the register tile '${b.name}' of ${where}`);
  const shape = b.shape.map((n, k) => {
    const ys = bs.map((x) => x.shape[k]!);
    if (ys.every((y) => y === n)) return n;
    const p = fitPoly(m.xs, ys);
    if (!p) throw m.fail(`gives buffer '${b.name}' of ${where} dim ${k} the sizes ${ys.join(', ')} at ${m.xs.join(', ')}, not a polynomial of it`);
    return polyAt(p, m.max);
  });
  return { ...b, shape };
}

/** A differing integer constant: a polynomial of S, or ceil(c * p(S) / d) for a split factor d (a guarded split's outer extent). */
function intExpr(ys: number[], t: Expr['t'], m: Merge): Expr | undefined {
  const p = fitPoly(m.xs, ys);
  if (p) return polyExpr(p, m.s, t);
  for (const d of new Set(m.divisors)) {
    if (d < 2) continue;
    // ceil(c * p(S) / d) for a dim p and a static factor c (a GPU grid over loops fused with static ones)
    for (const x of m.polys) {
      const p0 = polyAt(x, m.xs[0]!);
      for (let c = Math.max(1, Math.floor(((ys[0]! - 1) * d) / p0)); p0 > 0 && c <= Math.ceil((ys[0]! * d) / p0); c++) {
        const q = { c: x.c.map((a) => a * c) };
        if (m.xs.every((v, k) => Math.ceil(polyAt(q, v) / d) === ys[k])) return E.cast(E.div(E.add(polyExpr(q, m.s, 'i32'), E.i(d - 1)), E.i(d)), t);
      }
    }
  }
  return undefined;
}

/** Merge the same node of several programs: equal parts as they are, differing integer or float constants as expressions of s. */
function mergeNode(ns: unknown[], where: string, m: Merge): unknown {
  const n0 = ns[0];
  if (n0 === null || typeof n0 !== 'object') {
    if (ns.every((n) => n === n0)) return n0;
    throw m.fail(`changes ${where} in structure (${ns.map(String).join(' / ')})`);
  }
  if (Array.isArray(n0)) {
    if (ns.some((n) => !Array.isArray(n) || n.length !== n0.length)) throw m.fail(`changes the structure of ${where}`);
    return n0.map((_, i) => mergeNode(ns.map((n) => (n as unknown[])[i]), where, m));
  }
  const o0 = n0 as Record<string, unknown>;
  if (o0.k === 'const' && typeof o0.v === 'number' && 'lanes' in o0) {
    const ys = ns.map((n) => (n as { v: number }).v);
    if (ys.every((y) => Object.is(y, ys[0]))) return n0;
    const t = o0.t as Expr['t'];
    const e = o0.lanes !== 1 ? undefined : t === 'f32' || t === 'f64' ? floatExpr(m.xs, ys, m.s, t) : intExpr(ys, t, m);
    if (!e) throw m.fail(`gives a constant of ${where} the values ${ys.join(', ')} at ${m.xs.join(', ')}, not a polynomial of it`);
    return e;
  }
  if ('scope' in o0 && 'role' in o0 && Array.isArray(o0.shape)) return mergeBuffer(ns as Buffer[], where, m, o0.scope !== 'register');
  const keys = Object.keys(o0);
  if (ns.some((n) => Object.keys(n as object).join() !== keys.join())) throw m.fail(`changes the structure of ${where}`);
  const r: Record<string, unknown> = {};
  for (const key of keys) r[key] = mergeNode(ns.map((n) => (n as Record<string, unknown>)[key]), where, m);
  return r;
}
