/**
 * The branch-free vector min/max/select helpers (codegen/c/blend.ts) give, lane by lane, what the
 * scalar helpers give: NaN in either operand, ±0, ±Inf, for f32 and f64, at the widths the C target
 * uses; select on bool conditions for float, 64-bit and byte payloads. Built with the default flags
 * and with -O2 (no AVX: wide vectors emulated), warnings as errors.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCFlags, WARNING_FLAGS } from '@aic/codegen';
import { Helpers } from '../../codegen/c/expr.ts';
import { vecMinMax, vecSelect } from '../../codegen/c/blend.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-blend-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function program(): string {
  const h = new Helpers();
  const need = (n: string, d: () => string) => h.need(n, d);
  const vec = (t: Parameters<Helpers['vecTypedef']>[0], l: number) => h.vecTypedef(t, l);
  const body: string[] = [];
  const vals = '0.0, -0.0, 1.0, -1.0, NAN, INFINITY, -INFINITY, 2.5, -2.5';
  for (const [t, ct, L] of [['f32', 'float', 16], ['f32', 'float', 4], ['f64', 'double', 8], ['f64', 'double', 2]] as const) {
    const vt = vec(t, L);
    for (const op of ['min', 'max'] as const) {
      const f = vecMinMax(need, vec, op, t, L)!;
      const cmp = op === 'min' ? '<' : '>';
      body.push(`{ ${ct} v[] = { ${vals} }; int i, j, l; for (i = 0; i < 9; i++) for (j = 0; j < 9; j++) {`,
        `  ${vt} a, b, r; for (l = 0; l < ${L}; l++) { a[l] = v[(i + l) % 9]; b[l] = v[(j + 2 * l) % 9]; }`,
        `  r = ${f}(a, b);`,
        `  for (l = 0; l < ${L}; l++) { ${ct} x = a[l], y = b[l], e = (x != x || x ${cmp} y) ? x : (y != y ? y : (x == y ? x : y));`,
        `    if (memcmp(&e, &r[l], sizeof e)) { printf("${op} ${vt} %g %g -> %g want %g\\n", (double)x, (double)y, (double)r[l], (double)e); bad++; } } } }`);
    }
  }
  for (const [t, ct, L] of [['f32', 'float', 16], ['f64', 'double', 4], ['i64', 'int64_t', 8], ['u8', 'uint8_t', 16], ['i32', 'int32_t', 4]] as const) {
    const vt = vec(t, L), cvt = vec('bool', L);
    const f = vecSelect(need, vec, 'bool', t, L)!;
    body.push(`{ ${cvt} c; ${vt} a, b, r; int l; for (l = 0; l < ${L}; l++) { c[l] = (uint8_t)(l % 3 == 1); a[l] = (${ct})(l + 1); b[l] = (${ct})(100 - l); }`,
      `  r = ${f}(c, a, b); for (l = 0; l < ${L}; l++) if (r[l] != (c[l] ? a[l] : b[l])) { printf("select ${vt} lane %d\\n", l); bad++; } }`);
  }
  return ['#include <math.h>', '#include <stdint.h>', '#include <stdio.h>', '#include <string.h>', '#define AIC_VECTOR 1', h.text(),
    'int main(void) {', '  int bad = 0;', ...body, '  printf("%d wrong\\n", bad);', '  return bad != 0;', '}', ''].join('\n');
}

describe('C vector blend helpers', () => {
  for (const flags of [defaultCFlags({}), ['-O2']]) {
    it(`match the scalar helpers lane by lane (${flags.join(' ')})`, () => {
      const src = path.join(work, 'blend.c'), exe = path.join(work, `blend${flags.length}`);
      fs.writeFileSync(src, program());
      const b = spawnSync(process.env.CC || 'cc', [...flags, ...WARNING_FLAGS, '-Werror', '-o', exe, src, '-lm'], { encoding: 'utf8' });
      expect(b.status, b.stderr).toBe(0);
      const r = spawnSync(exe, { encoding: 'utf8' });
      expect(r.stdout.trim().split('\n').pop()).toBe('0 wrong');
      expect(r.status, r.stdout).toBe(0);
    });
  }
});
