/**
 * Runtime checks (packages/loop-ir/src/checks.ts) in WGSL: helpers that record the first failure
 * in a 4-word record of the activation buffer ([code, step, value, bound], code set by compare-and-
 * swap so the first failure wins), bound as `aic_err` in the entry points that check. The host
 * clears it before a run and reads it back after (host-runtime.mjs), then throws naming the node.
 */
import { CHECK_DIV_ZERO, CHECK_INDEX } from '@aic/loop-ir';
import type { WHelpers } from './expr.ts';

/** binding number of the record (apart from the windows, which count up from 0) */
export const ERR_BINDING = 63;
export const ERR_DECL = `@group(0) @binding(${ERR_BINDING}) var<storage, read_write> aic_err: array<atomic<u32>, 4>;`;

/** The helper for check_index / check_nonzero on 32-bit words of kind ws; returns its name. */
export function wgslCheck(h: WHelpers, fn: 'check_index' | 'check_nonzero' | 'check_range', ws: 'i32' | 'u32'): string {
  h.need('aic_fail', () => [
    'fn aic_fail(code: u32, step: u32, value: u32, bound: u32) {',
    '  loop {',
    '    let r = atomicCompareExchangeWeak(&aic_err[0], 0u, code);',
    '    if (r.exchanged) { atomicStore(&aic_err[1], step); atomicStore(&aic_err[2], value); atomicStore(&aic_err[3], bound); break; }',
    '    if (r.old_value != 0u) { break; }',
    '  }',
    '}',
  ].join('\n'));
  const name = `aic_${fn}_${ws}`;
  if (fn === 'check_nonzero') {
    return h.need(name, () => `fn ${name}(b: ${ws}, step: u32) -> ${ws} { if (b == ${ws}(0)) { aic_fail(${CHECK_DIV_ZERO}u, step, 0u, 0u); } return b; }`);
  }
  if (fn === 'check_range') {
    const ok = ws === 'i32' ? 'v >= 0 && v < n' : 'v < u32(n)';
    return h.need(name, () => `fn ${name}(v: ${ws}, n: i32, code: i32, step: u32) -> i32 { if (${ok}) { return i32(v); } aic_fail(u32(code), step, bitcast<u32>(v), bitcast<u32>(n)); return 0; }`);
  }
  const ok = ws === 'i32' ? 'i >= -n && i < n' : 'i < u32(n)';
  const v = ws === 'i32' ? 'select(i, i + n, i < 0)' : 'i32(i)';
  return h.need(name, () => `fn ${name}(i: ${ws}, n: i32, step: u32) -> i32 { if (${ok}) { return ${v}; } aic_fail(${CHECK_INDEX}u, step, bitcast<u32>(i), bitcast<u32>(n)); return 0; }`);
}
