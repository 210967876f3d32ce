/**
 * Loop-IR verifier: every buffer and variable is defined where it is used, operand types agree,
 * indices are i32, vector lanes are consistent, constant indices stay inside their buffers, and a
 * realized kernel has no `reduce` left. Lowering and schedules are checked with it in the tests.
 */
import type { Buffer, Expr, Kernel, ScalarType, Stmt } from './ir.ts';
import { computeT, isHalfT } from './half.ts';

export class LoopIrError extends Error {}

export function verifyKernel(k: Kernel, opts: { allowReduce?: boolean } = {}): void {
  const bufs = new Map<string, Buffer>(k.params.map((b) => [b.name, b]));
  const fail = (msg: string): never => { throw new LoopIrError(`kernel ${k.name}: ${msg}`); };
  const size = (b: Buffer) => b.shape.reduce((a, c) => a * c, 1);

  const expr = (e: Expr, vars: Map<string, ScalarType>): void => {
    switch (e.k) {
      case 'const': return;
      case 'var': {
        const t = vars.get(e.name);
        if (!t) fail(`variable '${e.name}' is not bound here`);
        if (t !== e.t && e.lanes === 1) fail(`variable '${e.name}' used as ${e.t} but bound as ${t}`);
        return;
      }
      case 'load': {
        const b = bufs.get(e.buf) ?? fail(`load from unknown buffer '${e.buf}'`);
        if (computeT(b.dtype) !== e.t) fail(`load of ${e.buf} typed ${e.t}, buffer is ${b.dtype}`);
        index(e.idx, b, vars, 'load');
        return;
      }
      case 'bin': {
        expr(e.a, vars); expr(e.b, vars);
        if (e.a.t !== e.b.t) fail(`operands of ${e.op} have types ${e.a.t} and ${e.b.t}`);
        lanes(e, [e.a, e.b]);
        return;
      }
      case 'un': case 'cast': expr(e.x, vars); lanes(e, [e.x]); return;
      case 'bcast': expr(e.x, vars); if (e.x.lanes !== 1) fail('bcast of a vector'); return;
      case 'ramp': expr(e.base, vars); if (e.base.lanes !== 1 || e.base.t !== 'i32') fail('ramp base must be a scalar i32'); return;
      case 'call': e.args.forEach((a) => expr(a, vars)); lanes(e, e.args); return;
      case 'select': {
        expr(e.c, vars); expr(e.a, vars); expr(e.b, vars);
        if (e.c.t !== 'bool') fail(`select condition has type ${e.c.t}, expected bool`);
        if (e.a.t !== e.b.t) fail(`select branches have types ${e.a.t} and ${e.b.t}`);
        lanes(e, [e.c, e.a, e.b]);
        return;
      }
      case 'reduce': {
        if (!opts.allowReduce) fail('a reduce is left in a realized kernel');
        const inner = new Map(vars);
        for (const a of e.axes) inner.set(a.name, 'i32');
        expr(e.body, inner);
        return;
      }
    }
  };
  const lanes = (e: Expr, parts: Expr[]) => {
    for (const p of parts) if (p.lanes !== 1 && p.lanes !== e.lanes) fail(`${e.k} mixes ${p.lanes} and ${e.lanes} lanes`);
  };
  const index = (i: Expr, b: Buffer, vars: Map<string, ScalarType>, what: string) => {
    expr(i, vars);
    if (i.t !== 'i32') fail(`${what} index into ${b.name} has type ${i.t}, expected i32`);
    if (i.k === 'const' && (i.v < 0 || i.v >= Math.max(1, size(b)))) fail(`${what} ${b.name}[${i.v}] is outside [0, ${size(b)})`);
  };
  const stmt = (s: Stmt, vars: Map<string, ScalarType>): void => {
    switch (s.k) {
      case 'seq': s.body.forEach((b) => stmt(b, vars)); return;
      case 'for': {
        expr(s.ext, vars);
        if (s.ext.t !== 'i32' || s.ext.lanes !== 1) fail(`loop ${s.v} has a non-scalar or non-i32 extent`);
        if (s.ext.k === 'const' && s.ext.v < 0) fail(`loop ${s.v} has a negative extent`);
        if (s.kind.k === 'vectorized' && !(s.ext.k === 'const' && s.ext.v === s.kind.lanes)) fail(`vectorized loop ${s.v} must have a constant extent equal to its lanes`);
        stmt(s.body, new Map(vars).set(s.v, 'i32'));
        return;
      }
      case 'store': {
        const b = bufs.get(s.buf) ?? fail(`store to unknown buffer '${s.buf}'`);
        if (b.role === 'input' || b.role === 'weight') fail(`store to read-only ${b.role} buffer '${s.buf}'`);
        index(s.idx, b, vars, 'store');
        expr(s.val, vars);
        if (s.val.t !== b.dtype && !(isHalfT(b.dtype) && (s.val.t === 'f32' || s.val.t === 'f64'))) fail(`store of ${s.val.t} into ${b.dtype} buffer '${s.buf}'`);
        if (s.val.lanes !== 1 && s.val.lanes !== s.idx.lanes) fail(`store of ${s.val.lanes} lanes at ${s.idx.lanes} indices`);
        return;
      }
      case 'if': {
        expr(s.c, vars);
        if (s.c.t !== 'bool') fail(`if condition has type ${s.c.t}, expected bool`);
        stmt(s.then, vars);
        if (s.else) stmt(s.else, vars);
        return;
      }
      case 'alloc': {
        if (bufs.has(s.buf.name)) fail(`buffer '${s.buf.name}' allocated twice`);
        bufs.set(s.buf.name, s.buf);
        stmt(s.body, vars);
        bufs.delete(s.buf.name);
        return;
      }
      case 'let': {
        expr(s.val, vars);
        if (s.val.t !== s.t) fail(`let ${s.v}: ${s.t} bound to a ${s.val.t} value`);
        stmt(s.body, new Map(vars).set(s.v, s.t));
        return;
      }
      case 'barrier': return;
    }
  };
  stmt(k.body, new Map());
}
