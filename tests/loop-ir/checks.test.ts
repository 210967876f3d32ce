/**
 * Runtime checks in the loop IR: the loop interpreter records the first failure and runs on with the
 * safe value; hoistChecks moves loop-invariant checks out of loops that run, and leaves conditional
 * ones (under an `if`, a `select` branch, or in a loop that may not run) where they are.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_DIV_ZERO, CHECK_INDEX, CHECK_TARGET, E, LoopInterpreter, S, hoistChecks, printStmt, type Kernel, type Stmt } from '@aic/loop-ir';

const buf = (name: string, dtype: 'f32' | 'i64' | 'i32', n: number, role: 'input' | 'output') => ({ name, dtype, shape: [n], scope: 'global' as const, role });
const gatherBody = (): Stmt => S.for('i', 3, S.for('j', 4,
  S.store('out', E.add(E.mul(E.v('i'), E.i(4)), E.v('j')),
    E.load('x', E.add(E.mul(E.call('check_index', E.load('ind', E.v('i'), 'i64'), E.i(2)), E.i(4)), E.v('j')), 'f32'))));
const kernel = (body: Stmt): Kernel => ({ name: 'k', params: [buf('x', 'f32', 8, 'input'), buf('ind', 'i64', 3, 'input'), buf('out', 'f32', 12, 'output')], body });

function run(k: Kernel, ind: number[]) {
  const mem = { x: Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]), ind: Float64Array.from(ind), out: new Float32Array(12) };
  const it = new LoopInterpreter(mem);
  it.runKernel(k);
  return { out: [...mem.out], failure: it.failure };
}
let n = 0;
const fresh = (p: string) => `${p}${n++}`;

describe('runtime checks', () => {
  it('check_index normalizes negative indices and records the first bad one, reading index 0 meanwhile', () => {
    expect(run(kernel(gatherBody()), [1, -2, -1])).toEqual({ out: [10, 11, 12, 13, 0, 1, 2, 3, 10, 11, 12, 13], failure: undefined });
    const r = run(kernel(gatherBody()), [1, 5, -3]);
    expect(r.failure).toEqual({ code: CHECK_INDEX, value: 5, bound: 2 });
    expect(r.out).toEqual([10, 11, 12, 13, 0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('check_nonzero and check_range record their codes', () => {
    const it = new LoopInterpreter({ o: new Int32Array(2) });
    it.runKernel({ name: 'k', params: [], body: S.seq(
      S.store('o', E.i(0), E.div(E.i(7), E.call('check_nonzero', E.i(0)))),
      S.store('o', E.i(1), E.call('check_range', E.c(4, 'i64'), E.i(3), E.i(CHECK_TARGET)))) });
    expect(it.failure).toEqual({ code: CHECK_DIV_ZERO, value: 0, bound: 0 });
    const it2 = new LoopInterpreter({ o: new Int32Array(1) });
    it2.runKernel({ name: 'k', params: [], body: S.store('o', E.i(0), E.call('check_range', E.c(4, 'i64'), E.i(3), E.i(CHECK_TARGET))) });
    expect(it2.failure).toEqual({ code: CHECK_TARGET, value: 4, bound: 3 });
  });

  it('hoistChecks binds an invariant check before the inner loop, same results and failures', () => {
    const h = hoistChecks(gatherBody(), fresh);
    const text = printStmt(h).join('\n');
    expect(text).toMatch(/let chk\d+: i32 = check_index\(ind\[i\], 2\)[\s\S]*for j/);
    expect(text.match(/check_index/g)).toHaveLength(1);
    for (const ind of [[1, -2, -1], [1, 5, -3]]) expect(run(kernel(h), ind)).toEqual(run(kernel(gatherBody()), ind));
  });

  it('hoistChecks leaves checks under an if, a select branch or a loop that may not run', () => {
    const chk = () => E.call('check_index', E.load('ind', E.v('i'), 'i64'), E.i(2));
    const store = (e: ReturnType<typeof chk>) => S.store('out', E.v('j'), E.load('x', e, 'f32'));
    const cases: Stmt[] = [
      S.for('i', 3, S.for('j', 4, S.if(E.lt(E.v('j'), E.i(2)), store(chk())))),
      S.for('i', 3, S.for('j', 4, store(E.select(E.lt(E.v('j'), E.i(2)), chk(), E.i(0))))),
    ];
    for (const c of cases) expect(printStmt(hoistChecks(c, fresh)).join('\n')).not.toMatch(/let chk/);
    // out of the j loop, but not out of the k loop that never runs
    const t = printStmt(hoistChecks(S.for('i', 3, S.for('k', 0, S.for('j', 4, store(chk())))), fresh)).join('\n');
    expect(t).toMatch(/for k[\s\S]*let chk[\s\S]*for j/);
  });
});
