/**
 * Runtime checks (packages/loop-ir/src/checks.ts) in WebAssembly: helper functions that record the
 * first failure in a fixed record at the bottom of the guard area, and the `run` epilogue that stops
 * after a kernel that failed. The loader reads the record and throws (codegen/wasm/loader.ts).
 * Record (little endian): +0 code i32, +4 step i32, +8 value i64, +16 bound i32.
 */
import { CHECK_DIV_ZERO, CHECK_INDEX, type ScalarType } from '@aic/loop-ir';
import { Func, type Instr, type ModuleBuilder, type ValType } from './module.ts';

export const ERR_ADDR = 0;
const ZERO: Instr = ['i32.const', 0];

function failFunc(mb: ModuleBuilder): string {
  const name = 'aic_fail';
  if (mb.hasFunc(name)) return name;
  const f = new Func(name, ['i32', 'i64', 'i32'], []);
  f.emit(ZERO, ['i32.load', 2, ERR_ADDR], ['i32.eqz'], ['if'],
    ZERO, ['local.get', 0], ['i32.store', 2, ERR_ADDR],
    ZERO, ['local.get', 1], ['i64.store', 3, ERR_ADDR + 8],
    ZERO, ['local.get', 2], ['i32.store', 2, ERR_ADDR + 16], ['end']);
  mb.addFunc(f);
  return name;
}

/** The helper implementing check_index(i, n) / check_nonzero(b) for argument type t; returns its name. */
export function checkFunc(mb: ModuleBuilder, fn: 'check_index' | 'check_nonzero' | 'check_range', t: ScalarType): string {
  const W: ValType = t === 'i64' || t === 'u64' ? 'i64' : 'i32';
  const signed = t === 'i8' || t === 'i16' || t === 'i32' || t === 'i64';
  const name = `aic_${fn}_${W}${signed ? 's' : 'u'}`;
  if (mb.hasFunc(name)) return name;
  const fail = failFunc(mb);
  const wide: Instr[] = W === 'i64' ? [] : [[signed ? 'i64.extend_i32_s' : 'i64.extend_i32_u']];
  if (fn === 'check_nonzero') {
    const f = new Func(name, [W], [W]);
    f.emit(['local.get', 0], [`${W}.eqz`], ['if'], ['i32.const', CHECK_DIV_ZERO], ['i64.const', 0], ZERO, ['call', fail], ['end'], ['local.get', 0]);
    mb.addFunc(f);
    return name;
  }
  if (fn === 'check_range') {
    // v in [0, n): unsigned compare of v against n does both sides (n >= 0)
    const f = new Func(name, [W, 'i32', 'i32'], ['i32']);
    const nU: Instr[] = W === 'i64' ? [['local.get', 1], ['i64.extend_i32_u']] : [['local.get', 1]];
    f.emit(['local.get', 0], ...nU, [`${W}.lt_u`], ['if', 'i32'], ['local.get', 0], ...(W === 'i64' ? [['i32.wrap_i64'] as Instr] : []),
      ['else'], ['local.get', 2], ['local.get', 0], ...wide, ['local.get', 1], ['call', fail], ZERO, ['end']);
    mb.addFunc(f);
    return name;
  }
  const f = new Func(name, [W, 'i32'], ['i32']);
  const n: Instr[] = W === 'i64' ? [['local.get', 1], ['i64.extend_i32_s']] : [['local.get', 1]];
  const i32: Instr[] = W === 'i64' ? [['local.get', 0], ['i32.wrap_i64']] : [['local.get', 0]];
  // in range: i < n (and i >= -n when signed)
  f.emit(['local.get', 0], ...n, [`${W}.lt_${signed ? 's' : 'u'}`]);
  if (signed) f.emit([`${W}.const`, 0], ...n, [`${W}.sub`], ['local.get', 0], [`${W}.le_s`], ['i32.and']);
  f.emit(['if', 'i32']);
  if (signed) f.emit(...i32, ['local.get', 1], ['i32.add'], ...i32, ['local.get', 0], [`${W}.const`, 0], [`${W}.lt_s`], ['select']);
  else f.emit(...i32);
  f.emit(['else'], ['i32.const', CHECK_INDEX], ['local.get', 0], ...wide, ['local.get', 1], ['call', fail], ZERO, ['end']);
  mb.addFunc(f);
  return name;
}

/**
 * check_index with a constant bound, inline (the common case, in inner loops: no call): expects the
 * index (type t) on the stack, leaves the i32 result; `tl` is a scratch local of the index's type.
 */
export function checkIndexInline(mb: ModuleBuilder, t: ScalarType, n: number, tl: number): Instr[] {
  const W: ValType = t === 'i64' || t === 'u64' ? 'i64' : 'i32';
  const signed = t === 'i8' || t === 'i16' || t === 'i32' || t === 'i64';
  const get: Instr[] = W === 'i64' ? [['local.get', tl], ['i32.wrap_i64']] : [['local.get', tl]];
  const wide: Instr[] = W === 'i64' ? [] : [[signed ? 'i64.extend_i32_s' : 'i64.extend_i32_u']];
  return [
    ['local.set', tl], ['local.get', tl], [`${W}.const`, n], [`${W}.lt_${signed ? 's' : 'u'}`],
    ...(signed ? [[`${W}.const`, -n], ['local.get', tl], [`${W}.le_s`], ['i32.and']] as Instr[] : []),
    ['if', 'i32'],
    ...(signed ? [...get, ['i32.const', n], ['i32.add'], ...get, ['local.get', tl], [`${W}.const`, 0], [`${W}.lt_s`], ['select']] as Instr[] : get),
    ['else'], ['i32.const', CHECK_INDEX], ['local.get', tl], ...wide, ['i32.const', n], ['call', failFunc(mb)], ZERO, ['end'],
  ];
}

/** `run` prologue: clear the record. */
export const RUN_PROLOGUE: Instr[] = [ZERO, ZERO, ['i32.store', 2, ERR_ADDR]];

/** After a kernel holding checks: on a failure note the step and return. */
export function afterCheckedKernel(step: number): Instr[] {
  return [ZERO, ['i32.load', 2, ERR_ADDR], ['if'], ZERO, ['i32.const', step], ['i32.store', 2, ERR_ADDR + 4], ['return'], ['end']];
}
