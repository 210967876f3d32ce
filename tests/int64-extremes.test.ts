/**
 * 64-bit integers are held as doubles (exact to 2^53). Their extremes must still round-trip through
 * tensor files: UINT64_MAX and INT64_MAX read as 2^64 and 2^63 and were written back wrapped (0 and
 * INT64_MIN); they are clamped to the type now, so `aic run` of an Identity keeps them on every target.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, serializeNpy, tensorFromBytes, tensorToBytes } from '@aic/core';

const u64 = (bs: bigint[]) => { const b = new Uint8Array(8 * bs.length); const dv = new DataView(b.buffer); bs.forEach((v, i) => dv.setBigUint64(8 * i, v, true)); return b; };
const i64 = (bs: bigint[]) => { const b = new Uint8Array(8 * bs.length); const dv = new DataView(b.buffer); bs.forEach((v, i) => dv.setBigInt64(8 * i, v, true)); return b; };

describe('int64/uint64 extremes round-trip', () => {
  it('UINT64_MAX and INT64_MAX/MIN survive bytes -> tensor -> bytes', () => {
    const ub = u64([2n ** 64n - 1n, 2n ** 63n, 5n, 0n]);
    expect(Array.from(tensorToBytes(tensorFromBytes('uint64', [4], ub)))).toEqual(Array.from(ub));
    const ib = i64([2n ** 63n - 1n, -(2n ** 63n), -1n, 7n]);
    expect(Array.from(tensorToBytes(tensorFromBytes('int64', [4], ib)))).toEqual(Array.from(ib));
  });

  it('out-of-range doubles clamp to the type instead of wrapping (.npy writing)', () => {
    const t = Tensor.fromNumbers('uint64', [3], [2 ** 64, 5, 2 ** 70]);
    const back = new DataView(tensorToBytes(t).buffer);
    expect([0, 1, 2].map((i) => back.getBigUint64(8 * i, true))).toEqual([2n ** 64n - 1n, 5n, 2n ** 64n - 1n]);
    const s = parseNpy(serializeNpy(Tensor.fromNumbers('int64', [2], [2 ** 63, -(2 ** 64)])));
    const sb = new DataView(tensorToBytes(s).buffer);
    expect([sb.getBigInt64(0, true), sb.getBigInt64(8, true)]).toEqual([2n ** 63n - 1n, -(2n ** 63n)]);
  });
});
