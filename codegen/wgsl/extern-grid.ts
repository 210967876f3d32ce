/**
 * Extern stages (imperative loop IR) run as one GPU invocation unless their outer loop is provably
 * parallel: then its iterations go to the grid (workgroup.x/y x local.x), one per invocation. The
 * proof, conservative: the body is one serial loop v of constant extent E; no buffer it writes is also
 * read in it; every store's index is v*K + r with r in [0, K) for one K per buffer (interval analysis
 * over the inner loops), so iteration v writes only [v*K, v*K + K): disjoint across iterations. Padded
 * input copies (Conv / pooling with pads, NC4HW4 included) have this form.
 */
import { E, intervalOf, walkExpr, walkStmt, type Expr, type Stmt } from '@aic/loop-ir';

type Lin = { k: number; rest: Expr };

const uses = (e: Expr, v: string) => { let u = false; walkExpr(e, (x) => { if (x.k === 'var' && x.name === v) u = true; }); return u; };

/** e as k*v + rest (rest free of v), when e is affine in v through +, - and products with constants. */
function linear(e: Expr, v: string): Lin | undefined {
  if (!uses(e, v)) return { k: 0, rest: e };
  if (e.k === 'var') return { k: 1, rest: E.i(0) };
  if (e.k !== 'bin') return undefined;
  if (e.op === 'add' || e.op === 'sub') {
    const a = linear(e.a, v), b = linear(e.b, v);
    if (!a || !b) return undefined;
    return { k: e.op === 'add' ? a.k + b.k : a.k - b.k, rest: E.bin(e.op, a.rest, b.rest) };
  }
  if (e.op === 'mul') {
    for (const [x, c] of [[e.a, e.b], [e.b, e.a]] as const) {
      if (c.k === 'const' && !uses(c, v)) { const l = linear(x, v); return l && { k: l.k * c.v, rest: E.mul(l.rest, c) }; }
    }
  }
  return undefined;
}

type For = Extract<Stmt, { k: 'for' }>;

/** The perfect nest of serial constant-extent loops at the top of s (at most 3 deep). */
function nestOf(s: Stmt): For[] {
  const out: For[] = [];
  while (s.k === 'for' && s.kind.k === 'serial' && s.ext.k === 'const' && out.length < 3) { out.push(s); s = s.body; }
  return out;
}

/**
 * Are the iterations of the nest's loops free of dependences (see the file comment)? Each store's
 * index is k1*v1 + ... + kd*vd + r with r in [0, kd) and kj >= E(j+1) * k(j+1), the same k per
 * buffer: distinct iterations write disjoint ranges.
 */
export function parallelNest(nest: For[]): boolean {
  const d = nest.length, inner = nest[d - 1].body;
  const read = new Set<string>(), strides = new Map<string, string>();
  walkStmt(inner, (s) => {
    const es: Expr[] = s.k === 'store' ? [s.idx, s.val] : s.k === 'for' ? [s.ext] : s.k === 'if' ? [s.c] : s.k === 'let' ? [s.val] : [];
    for (const e of es) walkExpr(e, (x) => { if (x.k === 'load') read.add(x.buf); });
  });
  const E_ = nest.map((l) => (l.ext as { v: number }).v);
  let ok = true;
  const ext = new Map<string, number>();
  const visit = (s: Stmt): void => {
    if (!ok) return;
    switch (s.k) {
      case 'seq': s.body.forEach(visit); return;
      case 'for':
        if (s.ext.k !== 'const' || s.kind.k === 'gpu') { ok = false; return; }
        ext.set(s.v, s.ext.v); visit(s.body); ext.delete(s.v); return;
      case 'if': visit(s.then); if (s.else) visit(s.else); return;
      case 'alloc': case 'let': case 'barrier': ok = false; return;
      case 'store': {
        let rest: Expr | undefined = s.idx;
        const ks: number[] = [];
        for (const l of nest) { const lin: Lin | undefined = rest && linear(rest, l.v); if (!lin) { ok = false; return; } ks.push(lin.k); rest = lin.rest; }
        const r = intervalOf(rest!, ext);
        const key = ks.join(',');
        if (read.has(s.buf) || !r || ks.some((k) => k <= 0) || r[0] < 0 || r[1] >= ks[d - 1] || ks.some((k, j) => j < d - 1 && k < E_[j + 1] * ks[j + 1])
          || (strides.get(s.buf) ?? key) !== key) { ok = false; return; }
        strides.set(s.buf, key);
      }
    }
  };
  visit(inner);
  return ok && strides.size > 0;
}

/** The extern stage's body with its outer loops on the GPU grid when provably parallel, else as it was. */
export function externOnGrid(body: Stmt, lim: { workgroupSize: number; maxWorkgroupsPerDimension: number; /** whole workgroups however few iterations (run-time extents: the same code at every value) */ fixed?: boolean }): Stmt {
  const full = nestOf(body);
  for (let d = full.length; d >= 1; d--) {
    const nest = full.slice(0, d);
    if (!parallelNest(nest)) continue;
    const ext = nest.map((l) => (l.ext as { v: number }).v);
    const n = ext.reduce((a, b) => a * b, 1), wg = lim.fixed ? lim.workgroupSize : Math.min(lim.workgroupSize, n);
    const groups = Math.ceil(n / wg);
    if (groups > lim.maxWorkgroupsPerDimension) continue;
    const o = `${nest[0].v}_g`, i = `${nest[0].v}_l`, g = `${nest[0].v}_f`;
    // v_j = (g / (E(j+1) * ... * Ed)) % Ej, innermost first
    let inner: Stmt = nest[d - 1].body;
    let below = 1;
    for (let j = d - 1; j >= 0; j--) {
      const q = below === 1 ? E.v(g) : E.div(E.v(g), E.i(below));
      inner = { k: 'let', v: nest[j].v, t: 'i32', val: j === 0 ? q : E.mod(q, E.i(ext[j])), body: inner };
      below *= ext[j];
    }
    const at = E.add(E.mul(E.v(o), E.i(wg)), E.v(i));
    return {
      k: 'for', v: o, ext: E.i(groups), kind: { k: 'gpu', axis: 'workgroup', dim: 'x' },
      body: {
        k: 'for', v: i, ext: E.i(wg), kind: { k: 'gpu', axis: 'local', dim: 'x' },
        body: { k: 'if', c: E.lt(at, E.i(n)), then: { k: 'let', v: g, t: 'i32', val: at, body: inner } },
      },
    };
  }
  return body;
}
