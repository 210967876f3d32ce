/**
 * The `cache BUF at LOOP in SCOPE` directive on a realized loop nest: the elements of BUF that the
 * body of LOOP reads are copied into a tile buffer at the start of every iteration of LOOP, and the
 * loads inside the body read the tile instead. Results never change: the copy reads exactly the
 * addresses the body reads (plus, in box mode, the gaps between them, guarded against running off
 * the buffer), and the body sees the same values.
 *
 * Tile layout per distinct load index of BUF (affine in the loops the tile spans):
 * - box mode: idx = base + sum_v c_v * v is split over BUF's dimensions (each coefficient goes to the
 *   outermost dimension whose stride divides it); the tile is the bounding box of the region, so
 *   overlapping windows (convolution taps) are copied once;
 * - gather mode (the index is not affine in those loops): one tile element per combination of the
 *   loops the index uses.
 *
 * Scope `shared` (GPU workgroup memory): the tile spans the loops inside LOOP and the loops bound to
 * local invocation ids around it; it is allocated outside the outermost local-bound loop (one tile per
 * workgroup), the copy is distributed over the invocations (element e by invocation e mod P), with a
 * `barrier` after the copy and after the body. The barriers are never under a condition: only the
 * stores of out-of-range elements are. Scope `local`: a private tile allocated inside LOOP, copied
 * by one invocation, no barriers.
 */
import { E, S, mapExpr, mapStmt, numel, walkStmt, type Buffer, type Expr, type Stmt } from './ir.ts';
import { ScheduleError, type CacheSpec } from './schedule.ts';
import { computeT } from './half.ts';

interface Lin { coef: Map<string, number>; base: Expr }

function usesVar(e: Expr, vars: ReadonlyMap<string, number>): boolean {
  let u = false;
  mapExpr(e, (x) => { if (x.k === 'var' && vars.has(x.name)) u = true; return x; });
  return u;
}

/** idx = base + sum coef[v] * v for v in `vars` (base free of them), or undefined. */
export function linearize(e: Expr, vars: ReadonlyMap<string, number>): Lin | undefined {
  if (!usesVar(e, vars)) return { coef: new Map(), base: e };
  if (e.lanes !== 1) return undefined;
  if (e.k === 'var') return { coef: new Map([[e.name, 1]]), base: E.i(0) };
  if (e.k === 'bin' && (e.op === 'add' || e.op === 'sub')) {
    const a = linearize(e.a, vars), b = linearize(e.b, vars);
    if (!a || !b) return undefined;
    const coef = new Map(a.coef);
    const sg = e.op === 'add' ? 1 : -1;
    for (const [v, c] of b.coef) coef.set(v, (coef.get(v) ?? 0) + sg * c);
    return { coef, base: E.bin(e.op, a.base, b.base) };
  }
  if (e.k === 'bin' && e.op === 'mul') {
    const scale = (l: Lin, c: number): Lin => ({ coef: new Map([...l.coef].map(([v, x]) => [v, x * c])), base: E.mul(l.base, E.i(c)) });
    if (e.b.k === 'const') { const a = linearize(e.a, vars); return a && scale(a, e.b.v); }
    if (e.a.k === 'const') { const b = linearize(e.b, vars); return b && scale(b, e.a.v); }
    return undefined;
  }
  return undefined;
}

/** Interval of an integer expression given loop extents, or undefined. */
export function intervalOf(e: Expr, ext: ReadonlyMap<string, number>): [number, number] | undefined {
  switch (e.k) {
    case 'const': return [e.v, e.v];
    case 'var': { const n = ext.get(e.name); return n === undefined ? undefined : [0, n - 1]; }
    case 'un': { const a = e.op === 'neg' ? intervalOf(e.x, ext) : undefined; return a && [-a[1], -a[0]]; }
    case 'bin': {
      const a = intervalOf(e.a, ext), b = intervalOf(e.b, ext);
      if (!a || !b) return undefined;
      switch (e.op) {
        case 'add': return [a[0] + b[0], a[1] + b[1]];
        case 'sub': return [a[0] - b[1], a[1] - b[0]];
        case 'mul': { const p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]; return [Math.min(...p), Math.max(...p)]; }
        case 'min': return [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
        case 'max': return [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
        case 'div': return b[0] === b[1] && b[0] > 0 && a[0] >= 0 ? [Math.trunc(a[0] / b[0]), Math.trunc(a[1] / b[0])] : undefined;
        case 'mod': return b[0] === b[1] && b[0] > 0 && a[0] >= 0 ? [0, Math.min(a[1], b[0] - 1)] : undefined;
        default: return undefined;
      }
    }
    default: return undefined;
  }
}

const strideOf = (shape: readonly number[]) => shape.map((_, i) => numel(shape.slice(i + 1)));
/** Row-major coordinates of flat index e in a box of extents t (constant-folded where trivial). */
function decode(e: Expr, t: readonly number[]): Expr[] {
  const st = strideOf(t);
  return t.map((n, i) => {
    const q = st[i] === 1 ? e : E.div(e, E.i(st[i]));
    return i === 0 ? q : E.mod(q, E.i(n));
  });
}
const flat = (xs: Expr[], t: readonly number[]): Expr => {
  const st = strideOf(t);
  return xs.reduce<Expr>((acc, x, i) => E.add(acc, st[i] === 1 ? x : E.mul(x, E.i(st[i]))), E.i(0));
};

interface Tile { buf: Buffer; key: string; read: Expr; copy: Stmt; spec: CacheSpec }

function loopExtents(s: Stmt, out: Map<string, number>, what: string): void {
  walkStmt(s, (x) => {
    if (x.k !== 'for') return;
    if (x.ext.k !== 'const') throw new ScheduleError(`${what}: loop ${x.v} has no constant extent`);
    out.set(x.v, x.ext.v);
  });
}

/** Realize the cache directives of one stage's loop nest. */
export function applyCaches(nest: Stmt, caches: readonly CacheSpec[], fresh: (p: string) => string, buffers: readonly Buffer[]): Stmt {
  const byAt = new Map<string, CacheSpec[]>();
  for (const c of caches) byAt.set(c.at, [...(byAt.get(c.at) ?? []), c]);
  const allExt = new Map<string, number>();
  walkStmt(nest, (x) => { if (x.k === 'for' && x.ext.k === 'const') allExt.set(x.v, x.ext.v); });
  const done = new Set<string>();
  const pending: Buffer[] = [];
  const rec = (s: Stmt, threads: { v: string; ext: number }[]): Stmt => {
    switch (s.k) {
      case 'for': {
        const isLocal = s.kind.k === 'gpu' && s.kind.axis === 'local';
        const nt = isLocal ? [...threads, { v: s.v, ext: s.ext.k === 'const' ? s.ext.v : NaN }] : threads;
        const before = pending.length;
        let r: Stmt = { ...s, body: rec(s.body, nt) };
        const specs = byAt.get(s.v);
        if (specs) {
          done.add(s.v);
          r = cacheAt(r as Extract<Stmt, { k: 'for' }>, specs, threads, fresh, buffers, allExt, pending);
        }
        if (isLocal && threads.length === 0 && pending.length > before) {
          for (const b of pending.splice(before).reverse()) r = S.alloc(b, r);
        }
        return r;
      }
      case 'seq': return { k: 'seq', body: s.body.map((b) => rec(b, threads)) };
      case 'alloc': case 'let': return { ...s, body: rec(s.body, threads) };
      case 'if': return { ...s, then: rec(s.then, threads), ...(s.else ? { else: rec(s.else, threads) } : {}) };
      default: return s;
    }
  };
  let out = rec(nest, []);
  for (const b of pending.reverse()) out = S.alloc(b, out);
  for (const at of byAt.keys()) if (!done.has(at)) throw new ScheduleError(`cache at ${at}: no loop '${at}' in the realized loop nest`);
  return out;
}

function cacheAt(loop: Extract<Stmt, { k: 'for' }>, specs: CacheSpec[], threads: { v: string; ext: number }[], fresh: (p: string) => string,
  buffers: readonly Buffer[], allExt: ReadonlyMap<string, number>, pending: Buffer[]): Stmt {
  if (loop.kind.k !== 'serial' && loop.kind.k !== 'unrolled') throw new ScheduleError(`cache at ${loop.v}: the loop must be serial or unrolled (it is ${loop.kind.k})`);
  const inner = new Map<string, number>();
  loopExtents(loop.body, inner, `cache at ${loop.v}`);
  const tiles: Tile[] = [];
  let shared = false;
  for (const spec of specs) {
    const what = `cache ${spec.buf} at ${spec.at} in ${spec.scope}`;
    const src = buffers.find((b) => b.name === spec.buf);
    if (!src) throw new ScheduleError(`${what}: no buffer '${spec.buf}' (buffers: ${buffers.map((b) => b.name).join(', ') || 'none'})`);
    if (spec.scope === 'shared' && threads.some((t) => !Number.isFinite(t.ext))) throw new ScheduleError(`${what}: a local-bound loop has no constant extent`);
    const th = spec.scope === 'shared' ? threads : [];
    if (spec.scope === 'shared') shared = true;
    const vars = new Map<string, number>([...th.map((t) => [t.v, t.ext] as [string, number]), ...inner]);
    const loads = new Map<string, Expr>();
    const seen = (e: Expr) => { if (e.k === 'load' && e.buf === spec.buf) { if (e.lanes !== 1) throw new ScheduleError(`${what}: vector loads cannot be cached`); loads.set(JSON.stringify(e.idx), e.idx); } return e; };
    mapStmt(loop.body, seen);
    if (loads.size === 0) throw new ScheduleError(`${what}: the loop does not read ${spec.buf}`);
    walkStmt(loop.body, (x) => { if (x.k === 'store' && x.buf === spec.buf) throw new ScheduleError(`${what}: the loop writes ${spec.buf}`); });
    if (numel(src.shape) === 0) return loop;
    for (const [key, idx] of loads) tiles.push({ ...makeTile(idx, key, src, spec.scope, vars, allExt, fresh, what), spec });
  }
  // rewrite the loads, then copy + barriers
  const byKey = new Map(tiles.map((t) => [`${t.spec.buf}\u0000${t.key}`, t]));
  const body = mapStmt(loop.body, (e) => {
    if (e.k !== 'load') return e;
    const t = byKey.get(`${e.buf}\u0000${JSON.stringify(e.idx)}`);
    return t ? E.load(t.buf.name, t.read, e.t) : e;
  });
  const copies: Stmt[] = [];
  const P = threads.reduce((a, t) => a * t.ext, 1);
  const tid = threads.length ? flat(threads.map((t) => E.v(t.v)), threads.map((t) => t.ext)) : E.i(0);
  for (const t of tiles) {
    const sh = t.spec.scope === 'shared';
    const T = numel(t.buf.shape);
    const p = sh ? P : 1;
    const steps = Math.ceil(T / p);
    const c = fresh('cc');
    const e = steps === 1 ? (p === 1 ? E.i(0) : tid) : p === 1 ? E.v(c) : E.add(E.mul(E.v(c), E.i(p)), tid);
    let st = mapStmt(t.copy, (x) => (x.k === 'var' && x.name === '__e' ? e : x));
    if (T % p !== 0) st = S.if(E.lt(e, E.i(T)), st);
    copies.push(steps === 1 ? st : S.for(c, steps, st));
  }
  const bar: Stmt[] = shared && threads.length ? [{ k: 'barrier' }] : [];
  let nb: Stmt = S.seq(...copies, ...bar, body, ...bar);
  for (const t of tiles.slice().reverse()) {
    if (t.spec.scope === 'local') nb = S.alloc(t.buf, nb);
  }
  let r: Stmt = { ...loop, body: nb };
  for (const t of tiles) {
    if (t.spec.scope !== 'shared') continue;
    if (threads.length) pending.push(t.buf); else r = S.alloc(t.buf, r);
  }
  return r;
}

/** The tile for one load index: its buffer, the index the body reads it at, and the copy of element `__e`. */
function makeTile(idx: Expr, key: string, src: Buffer, scope: 'shared' | 'local', vars: ReadonlyMap<string, number>, allExt: ReadonlyMap<string, number>,
  fresh: (p: string) => string, what: string): Omit<Tile, 'spec'> {
  const n = numel(src.shape);
  const e = E.v('__e');
  const lin = linearize(idx, vars);
  let shape: number[], read: Expr, from: Expr, span: [number, number] | undefined;
  const used = [...vars.keys()].filter((v) => usesVar(idx, new Map([[v, 0]])));
  if (lin && [...lin.coef.values()].every((c) => Number.isInteger(c))) {
    const strides = strideOf(src.shape);
    const dims = new Map<number, { v: string; m: number }[]>();
    for (const [v, c] of lin.coef) {
      if (c === 0) continue;
      let d = strides.findIndex((s) => s > 0 && c % s === 0);
      if (d < 0) d = strides.length - 1;
      dims.set(d, [...(dims.get(d) ?? []), { v, m: c / (strides[d] || 1) }]);
    }
    const ds = [...dims.keys()].sort((a, b) => a - b);
    const lo: number[] = [], t: number[] = [];
    for (const d of ds) {
      let l = 0, h = 0;
      for (const { v, m } of dims.get(d)!) { const x = m * (vars.get(v)! - 1); l += Math.min(0, x); h += Math.max(0, x); }
      lo.push(l); t.push(h - l + 1);
    }
    shape = t.length ? t : [1];
    read = flat(ds.map((d, i) => dims.get(d)!.reduce<Expr>((acc, { v, m }) => E.add(acc, E.mul(E.v(v), E.i(m))), E.i(-lo[i]))), t);
    const o = decode(e, t);
    from = ds.reduce<Expr>((acc, d, i) => E.add(acc, E.mul(E.add(o[i], E.i(lo[i])), E.i(strides[d]))), lin.base);
    const br = intervalOf(lin.base, allExt);
    if (br) {
      span = [br[0], br[1]];
      ds.forEach((d, i) => { span![0] += Math.min(lo[i] * strides[d], (lo[i] + t[i] - 1) * strides[d]); span![1] += Math.max(lo[i] * strides[d], (lo[i] + t[i] - 1) * strides[d]); });
    }
  } else {
    // gather: one element per combination of the loops the index uses
    const t = used.map((v) => vars.get(v)!);
    shape = t.length ? t : [1];
    read = flat(used.map((v) => E.v(v)), t);
    const o = decode(e, t);
    from = mapExpr(idx, (x) => (x.k === 'var' && used.includes(x.name) ? o[used.indexOf(x.name)] : x));
    span = intervalOf(idx, allExt);
  }
  const T = numel(shape);
  if (T > (1 << 24)) throw new ScheduleError(`${what}: the tile would hold ${T} elements`);
  const ct = computeT(src.dtype); // a tile of a 16-bit float buffer holds f32 (half.ts)
  const buf: Buffer = { name: fresh(`${src.name}_tile`), dtype: ct, shape: [T], scope, role: 'scratch' };
  const inBounds = span !== undefined && span[0] >= 0 && span[1] < n;
  const at = fresh('ci');
  const store = S.store(buf.name, e, E.load(src.name, inBounds ? from : E.v(at), ct));
  const copy = inBounds ? store
    : S.let(at, 'i32', from, S.if(E.and(E.ge(E.v(at), E.i(0)), E.lt(E.v(at), E.i(n))), store, S.store(buf.name, e, E.c(0, ct))));
  return { buf, key, read, copy };
}
