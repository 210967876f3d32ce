/**
 * GCC 12 + AVX-512 miscompiles vectorized loops whose conditional loads become masked loads in an
 * interleaved group (tests/fixtures/c/, GCC_AVX512_CFLAGS in build.ts). Those masked loads come from
 * loop if-conversion of a load that C evaluates conditionally: a load inside a `?:` branch or an
 * `if`. Only kernels holding such a load are built without if-conversion (a per-function optimize
 * attribute, GCC on AVX-512 only); every other kernel keeps it, so its branch-free selects and
 * NaN-aware min/max still vectorize. The attribute comes with `noipa`: GCC 12 dropped the call to an
 * IPA-CP clone of the Where kernel of a gradient graph (tests/fixtures/c/gcc12-optimize-ipa-cp.c).
 * That was not the optimize attribute's doing (it only kept the loop scalar): every kernel now carries
 * AIC_KERNEL (noclone.ts), which is what stops it; noipa stays, redundant.
 */
import { childExprs, stmtExprs, walkStmt, type Expr, type Stmt } from '@aic/loop-ir';

/** The attribute macro kernels with conditional loads carry (defined once at the top of model.c). */
export const COND_LOADS_ATTR = 'AIC_COND_LOADS';
export const COND_LOADS_DEFINE = [
  '/* GCC + AVX-512: no loop if-conversion in kernels with conditional loads (GCC 12 miscompiles their masked loads);',
  '   noipa: no IPA-CP clones (see AIC_KERNEL) */',
  '#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)',
  `#define ${COND_LOADS_ATTR} __attribute__((noipa, optimize("no-tree-loop-if-convert")))`,
  '#else',
  `#define ${COND_LOADS_ATTR}`,
  '#endif',
];

function hasLoop(s: Stmt): boolean {
  let found = false;
  walkStmt(s, (x) => { if (x.k === 'for') found = true; });
  return found;
}

/**
 * Does a kernel body hold a conditionally evaluated load that if-conversion could turn into a masked
 * load: one in a select branch (other than a load the expression evaluates anyway: Max/Softmax's
 * `isnan(x) ? x : ...` reads x in the condition too), or in an `if` without loops inside
 * (if-conversion only flattens the bodies of innermost loops; the padded copies' row `if`s hold loops
 * and stay branches). Register-scope accumulators are variables or small local arrays read at
 * in-bounds slots: never a trap, so never a masked load.
 */
export function hasConditionalLoads(body: Stmt): boolean {
  const registers = new Set<string>();
  walkStmt(body, (s) => { if (s.k === 'alloc' && s.buf.scope === 'register') registers.add(s.buf.name); });
  const memLoad = (e: Expr) => e.k === 'load' && !registers.has(e.buf);
  const hasLoad = (e: Expr): boolean => memLoad(e) || childExprs(e).some(hasLoad);
  /** keys of the loads an expression always evaluates (outside select branches) */
  const alwaysLoaded = (e: Expr, out = new Set<string>()): Set<string> => {
    if (e.k === 'load') out.add(JSON.stringify(e));
    for (const c of e.k === 'select' ? [e.c] : childExprs(e)) alwaysLoaded(c, out);
    return out;
  };
  const branchLoad = (e: Expr, always: Set<string>): boolean =>
    (memLoad(e) && !always.has(JSON.stringify(e))) || childExprs(e).some((c) => branchLoad(c, always));
  const condLoad = (e: Expr, always: Set<string>): boolean => (e.k === 'select'
    ? condLoad(e.c, always) || branchLoad(e.a, always) || branchLoad(e.b, always)
    : childExprs(e).some((c) => condLoad(c, always)));
  const stmtHasLoad = (s: Stmt) => {
    let found = false;
    walkStmt(s, (x) => { if (!found && stmtExprs(x).some(hasLoad)) found = true; });
    return found;
  };
  let found = false;
  walkStmt(body, (s) => {
    if (found) return;
    if (stmtExprs(s).some((e) => condLoad(e, alwaysLoaded(e)))) found = true;
    else if (s.k === 'if' && !hasLoop(s) && (stmtHasLoad(s.then) || (s.else !== undefined && stmtHasLoad(s.else)))) found = true;
  });
  return found;
}
