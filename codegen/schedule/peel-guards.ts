/**
 * Peel the partial last block of a split loop: `for o in 0..N { B }` whose body holds the split's guard
 * `if ((o * f + i) < E)`, with i a loop of B running over at most f values, becomes
 * `for o in 0..floor(E / f) { B without the guard }` followed by B at o = floor(E / f), guard kept.
 * The guard holds for every o < floor(E / f) (o*f + i <= floor(E/f)*f - 1 < E), so the iterations run
 * the same statements in the same order: results unchanged. What it saves is the branch inside
 * register tiles: a blocked 1x1 conv over 58 input channels (ShuffleNet) split by 4 tested
 * `r < 58` around every multiply-add of its unrolled tile (schedule/blocked.ts).
 * Serial loops with a constant extent and no allocations in their body only.
 */
import { E, mapStmt, simplifyStmt, substituteStmt, walkStmt, type Expr, type Kernel, type Stmt } from '@aic/loop-ir';

type For = Extract<Stmt, { k: 'for' }>;

/** (o * f + i) < E with o the loop variable: [f, i, E], else undefined */
function splitGuard(c: Expr, o: string): [number, string, number] | undefined {
  if (c.k !== 'bin' || c.op !== 'lt' || c.b.k !== 'const') return undefined;
  const s = c.a;
  if (s.k !== 'bin' || s.op !== 'add' || s.b.k !== 'var') return undefined;
  const m = s.a;
  if (m.k !== 'bin' || m.op !== 'mul' || m.a.k !== 'var' || m.a.name !== o || m.b.k !== 'const') return undefined;
  return [m.b.v, s.b.name, c.b.v];
}

function peel(loop: For): Stmt {
  if (loop.kind.k !== 'serial' || loop.ext.k !== 'const') return loop;
  const N = loop.ext.v;
  const inner = new Map<string, number>();
  let alloc = false;
  const guards: [number, string, number][] = [];
  walkStmt(loop.body, (s) => {
    if (s.k === 'alloc') alloc = true;
    if (s.k === 'for' && s.ext.k === 'const') inner.set(s.v, s.ext.v);
    if (s.k === 'if' && !s.else) { const g = splitGuard(s.c, loop.v); if (g) guards.push(g); }
  });
  if (alloc || guards.length === 0) return loop;
  const [f, i, lim] = guards[0];
  const K = Math.floor(lim / f);
  if (!(K >= 1 && K < N && (inner.get(i) ?? Infinity) <= f)) return loop;
  const key = JSON.stringify(E.lt(E.add(E.mul(E.v(loop.v), E.i(f)), E.v(i)), E.i(lim)));
  const sure = mapStmt(loop.body, (e) => e, (s) => (s.k === 'if' && !s.else && JSON.stringify(s.c) === key ? s.then : s));
  const last = simplifyStmt(substituteStmt(loop.body, { [loop.v]: E.i(K) }));
  return { k: 'seq', body: [{ ...loop, ext: E.i(K), body: sure }, last] };
}

/** Peel every split guard of a kernel's loops (innermost loops first). */
export function peelSplitGuards(k: Kernel): Kernel {
  return { ...k, body: mapStmt(k.body, (e) => e, (s) => (s.k === 'for' ? peel(s) : s)) };
}
