/**
 * .npy reading and writing against files numpy wrote (tests/fixtures/npy, made by gen.py there):
 * every dtype, both byte orders, Fortran order, 0-d, unicode strings; aic's writer reproduces
 * numpy's bytes exactly; damaged files are catalog diagnostics, never internal errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, Tensor, parseNpy, serializeNpy } from '@aic/core';

const DIR = path.resolve(import.meta.dirname, 'fixtures/npy');
const load = (f: string) => new Uint8Array(fs.readFileSync(path.join(DIR, f)));
const read = (f: string) => parseNpy(load(f), f);
const values = (t: Tensor) => (t.dtype === 'string' ? (t.data as string[]).slice() : Array.from(t.num));

function errorOf(fn: () => unknown): AicError {
  try { fn(); } catch (e) { expect(e).toBeInstanceOf(AicError); return e as AicError; }
  throw new Error('expected an error');
}

describe('.npy files numpy wrote', () => {
  const cases: [string, string, number[], (number | string)[]][] = [
    ['f32_2x3.npy', 'float32', [2, 3], [0, 0.25, 0.5, 0.75, 1, 1.25]],
    ['f32_fortran.npy', 'float32', [2, 3, 4], Array.from({ length: 24 }, (_, i) => i)],
    ['f8_bigendian.npy', 'float64', [3], [1.5, -2.25, 1e300]],
    ['i4_bigendian.npy', 'int32', [2, 2], [1, -2, 65536, -(2 ** 31)]],
    ['f32_scalar.npy', 'float32', [], [3.5]],
    ['bool.npy', 'bool', [3], [1, 0, 1]],
    ['f16.npy', 'float16', [4], [0.5, -1, 65504, 5.960464477539063e-8]],
    ['int8.npy', 'int8', [4], [-128, 0, 7, 127]],
    ['uint8.npy', 'uint8', [4], [0, 0, 7, 255]],
    ['int16.npy', 'int16', [4], [-32768, 0, 7, 32767]],
    ['uint16.npy', 'uint16', [4], [0, 0, 7, 65535]],
    ['int32.npy', 'int32', [4], [-(2 ** 31), 0, 7, 2 ** 31 - 1]],
    ['uint32.npy', 'uint32', [4], [0, 0, 7, 2 ** 32 - 1]],
    ['int64.npy', 'int64', [4], [-(2 ** 63), 0, 7, 2 ** 53]],
    ['uint64.npy', 'uint64', [4], [0, 0, 7, 2 ** 53]],
    ['f64_empty.npy', 'float64', [0, 3], []],
    ['str_unicode.npy', 'string', [2, 2], ['monday', 'Grüße', '', 'x😀y']],
    ['str_fortran.npy', 'string', [2, 3], ['a', 'bb', 'ccc', 'dddd', 'e', '']],
    ['str_bigendian.npy', 'string', [2], ['ab', 'ü']],
    ['bytes.npy', 'string', [2], ['abc', 'de']],
  ];
  for (const [file, dtype, shape, want] of cases) {
    it(`reads ${file}`, () => {
      const t = read(file);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual(shape);
      expect(values(t)).toEqual(want);
    });
  }

  // numpy writes little-endian C-order files; aic's writer must produce the very same bytes
  for (const file of ['f32_2x3.npy', 'f32_scalar.npy', 'bool.npy', 'f16.npy', 'int8.npy', 'uint16.npy', 'int32.npy', 'int64.npy', 'f64_empty.npy', 'str_unicode.npy']) {
    it(`writes ${file} byte for byte as numpy does`, () => {
      expect(Buffer.from(serializeNpy(read(file))).equals(Buffer.from(load(file)))).toBe(true);
    });
  }

  it('round-trips re-ordered files (Fortran, big-endian) as C-order little-endian', () => {
    for (const f of ['f32_fortran.npy', 'f8_bigendian.npy', 'i4_bigendian.npy', 'str_fortran.npy', 'str_bigendian.npy']) {
      const t = read(f);
      const back = parseNpy(serializeNpy(t));
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(values(back)).toEqual(values(t));
    }
  });

  it('refuses dtypes aic has no element type for with exit 3, naming the dtype', () => {
    const want: Record<string, RegExp> = {
      'complex64.npy': /'<c8' \(complex\)/,
      'object.npy': /'\|O' \(object/,
      'datetime.npy': /'<M8\[D\]'|datetime/,
      'structured.npy': /structured/,
    };
    for (const [f, re] of Object.entries(want)) {
      const e = errorOf(() => read(f));
      expect(e.exitCode, f).toBe(3);
      expect(e.message, f).toMatch(re);
    }
  });
});

describe('.npy writing', () => {
  it('writes strings as unicode arrays wide enough for the longest (in code points)', () => {
    const t = new Tensor('string', [3], ['a', '😀😀😀', '']);
    const bytes = serializeNpy(t);
    expect(new TextDecoder('latin1').decode(bytes.subarray(10, 60))).toContain("'descr': '<U3'");
    expect(values(parseNpy(bytes))).toEqual(['a', '😀😀😀', '']);
    expect(values(parseNpy(serializeNpy(new Tensor('string', [2], ['', '']))))).toEqual(['', '']);
  });

  it('refuses bfloat16 with a catalog error (numpy has no such dtype)', () => {
    const e = errorOf(() => serializeNpy(new Tensor('bfloat16', [1])));
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/bfloat16/);
  });
});

describe('damaged .npy files are catalog errors', () => {
  const good = load('f32_2x3.npy');
  const header = (h: string, body = new Uint8Array(0)) => {
    const bytes = new Uint8Array(10 + h.length + body.length);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
    for (let i = 0; i < h.length; i++) bytes[10 + i] = h.charCodeAt(i);
    bytes.set(body, 10 + h.length);
    return bytes;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['no magic', new TextEncoder().encode('hello world, not numpy'), /magic/],
    ['version 9', Uint8Array.from([...good.subarray(0, 6), 9, 0, ...good.subarray(8)]), /version 9/],
    ['header longer than the file', good.subarray(0, 40), /header truncated/],
    ['not a dict', header('garbage'), /malformed header/],
    ['no shape', header("{'descr': '<f4', 'fortran_order': False, }"), /malformed header/],
    ['negative dim', header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), /malformed shape/],
    ['text dim', header("{'descr': '<f4', 'fortran_order': False, 'shape': (a, 2), }"), /malformed shape/],
    ['data truncated', good.subarray(0, good.length - 1), /data truncated/],
    ['absurd shape, no data', header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000000), }"), /data truncated/],
    ['odd unicode width', header("{'descr': '<U3x', 'fortran_order': False, 'shape': (1,), }"), /element type/],
    ['bad code point', header("{'descr': '<U1', 'fortran_order': False, 'shape': (1,), }", Uint8Array.of(0xff, 0xff, 0xff, 0x7f)), /code point/],
  ];
  for (const [what, bytes, re] of cases) {
    it(what, () => {
      const e = errorOf(() => parseNpy(bytes, 'x.npy'));
      expect(e.message).toMatch(re);
      expect([1, 3]).toContain(e.exitCode);
    });
  }

  it('every truncation and every single-byte change of a header is an AicError or a valid tensor', () => {
    for (const f of ['f32_2x3.npy', 'str_unicode.npy', 'f32_fortran.npy']) {
      const src = load(f);
      for (let n = 0; n < src.length; n++) {
        try { parseNpy(src.subarray(0, n)); } catch (e) { expect(e, `${f} cut at ${n}`).toBeInstanceOf(AicError); }
      }
      for (let i = 0; i < 128; i++) {
        for (const b of [0x00, 0x20, 0x27, 0x28, 0x29, 0x2c, 0x31, 0x39, 0x3c, 0x3e, 0x55, 0x66, 0x7b, 0x7d, 0xff]) {
          const m = src.slice();
          m[i] = b;
          try {
            const t = parseNpy(m);
            expect(t).toBeInstanceOf(Tensor);
          } catch (e) {
            expect(e, `${f} byte ${i} = ${b}`).toBeInstanceOf(AicError);
          }
        }
      }
    }
  });
});
