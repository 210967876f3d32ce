/**
 * Elementwise kernels of one byte as a 256-entry table. A quantized model's float activation between
 * a DequantizeLinear and a QuantizeLinear (efficientnet_b0's SiLU: DQ -> x * sigmoid(x) -> Q, fused into
 * one uint8 -> uint8 kernel) computes, per element, a function of one int8 / uint8 value: it takes 256
 * values at most. The kernel's expression is evaluated now for each of them by the loop-IR interpreter
 * (the reference semantics every target implements), into a constant table of the output type, and the
 * kernel becomes `out = table[x]`: one load per element instead of an exp, a division and the
 * requantization. Same values as the expression (the interpreter's; a target's own exp approximation no
 * longer enters).
 *
 * Applies to a one-stage kernel whose body reads one 8-bit buffer at one index (plus one-element
 * constants) and calls an intrinsic that costs more than a load (exp, sigmoid, tanh, erf, log, ...).
 */
import { Tensor } from '@aic/core';
import { E, LoopInterpreter, mapExpr, walkExpr, type Buffer, type Expr } from '@aic/loop-ir';
import type { Program, ProgramBuffer } from '../lower/program.ts';
import { dtypeOfScalar } from '../lower/dtypes.ts';
import { dropUnread, scalarConstants } from './int-dot.ts';

/** intrinsics whose cost a table load repays */
const COSTLY = new Set(['exp', 'log', 'tanh', 'erf', 'sigmoid', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'atan2']);
const BYTES = new Set(['u8', 'i8']);

/** Rewrite kernel `name` as a table lookup (see the file comment); false when it does not apply. */
export function applyByteTable(prog: Program, name: string): boolean {
  const src = prog.sources.get(name);
  const step = prog.steps.find((s) => s.kernel === name);
  if (!src || !step || src.stages.length !== 1 || prog.steps.filter((s) => s.kernel === name).length !== 1) return false;
  const st = src.stages[0];
  if (st.kind !== 'compute') return false;
  const consts = scalarConstants(prog, src, step.args);
  let input: Extract<Expr, { k: 'load' }> | undefined, ok = true, costly = false;
  walkExpr(st.body, (x) => {
    if (x.k === 'reduce' || x.k === 'ramp' || x.k === 'bcast') ok = false;
    if (x.k === 'call' && COSTLY.has(x.fn)) costly = true;
    if (x.k !== 'load' || consts.has(x.buf)) return;
    if (!input) input = x;
    else if (JSON.stringify(input) !== JSON.stringify(x)) ok = false;
  });
  const load = input as Extract<Expr, { k: 'load' }> | undefined;
  const param = load && src.params.find((p) => p.name === load.buf);
  if (!ok || !costly || !load || !param || !BYTES.has(param.dtype) || load.lanes !== 1) return false;
  // with the input replaced by one value, nothing may depend on the position (no loop variable left)
  const X = '__byte';
  const body = mapExpr(st.body, (x) => (x.k === 'load' && x.buf === load.buf ? E.load(X, E.i(0), load.t) : x));
  let positional = false;
  walkExpr(body, (x) => { if (x.k === 'var') positional = true; });
  if (positional) return false;
  const lo = param.dtype === 'i8' ? -128 : 0;
  const mem: Record<string, { [i: number]: number; length: number }> = { [X]: [0] };
  src.params.forEach((p, i) => { const w = prog.weights.find((x) => x.name === step.args[i]); if (consts.has(p.name) && w?.data) mem[p.name] = w.data.num; });
  const interp = new LoopInterpreter(mem);
  const table = new Tensor(dtypeOfScalar(st.out.dtype), [256]);
  for (let v = 0; v < 256; v++) {
    (mem[X] as number[])[0] = lo + v;
    table.num[v] = interp.eval(body) as number;
  }
  let tname = `${load.buf}_table`;
  while ([...src.params, ...src.temps].some((b) => b.name === tname)) tname += '_';
  let wname = `${name}_table`;
  while (prog.weights.some((w) => w.name === wname)) wname += '_';
  const T: Buffer = { name: tname, dtype: st.out.dtype, shape: [256], scope: 'global', role: 'weight' };
  const w: ProgramBuffer = { ...T, name: wname, value: wname, data: table };
  prog.weights.push(w);
  src.params.push(T);
  step.args.push(wname);
  const at = lo ? E.add(E.cast(load, 'i32'), E.i(-lo)) : E.cast(load, 'i32');
  src.stages[0] = { ...st, body: E.load(T.name, at, st.out.dtype) };
  dropUnread(prog, src, step.args);
  return true;
}
