/**
 * The vector exp helper (codegen/c/vexp.ts) gives, lane by lane, the scalar aic_expf's bits (expr.ts)
 * under the default C flags: a sweep over [-100, 100], the clamp edges, +-inf, NaN, -0, denormal inputs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { defaultCFlags } from '@aic/codegen';
import { EXPF, Helpers } from '../../codegen/c/expr.ts';
import { vecExpF32 } from '../../codegen/c/vexp.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-vexp-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

for (const lanes of [4, 8, 16]) {
  it(`aic_vexpf over ${lanes} lanes matches the scalar aic_expf bit for bit`, () => {
    const h = new Helpers();
    const name = vecExpF32((n, d) => h.need(n, d), (t, l) => h.vecTypedef(t, l), lanes);
    const vt = `aic_f32x${lanes}`;
    const src = [
      '#include <math.h>', '#include <stdint.h>', '#include <stdio.h>', '#include <string.h>', '#define AIC_VECTOR 1',
      EXPF.replace('static inline float', 'static float'), h.text(),
      'int main(void) {',
      '  static float xs[4096]; int n = 0, bad = 0, i, l;',
      '  const float edge[] = { 88.7228391117f, 88.72284f, 88.7228f, -86.6f, -86.60001f, -86.59999f, -87.3f, 0.0f, -0.0f, 1e-40f, -1e-40f, INFINITY, -INFINITY, NAN, -NAN, 1e30f, -1e30f, 0.5f, -0.5f };',
      '  for (i = 0; i < (int)(sizeof edge / sizeof edge[0]); i++) xs[n++] = edge[i];',
      '  while (n < 4096) { xs[n] = -100.0f + 200.0f * (float)n / 4096.0f; n++; }',
      `  for (i = 0; i < n; i += ${lanes}) {`,
      `    ${vt} v; memcpy(&v, &xs[i], sizeof v); v = ${name}(v);`,
      `    for (l = 0; l < ${lanes}; l++) { float w = aic_expf(xs[i + l]), g = v[l]; uint32_t a, b; memcpy(&a, &w, 4); memcpy(&b, &g, 4);`,
      '      if (a != b && !(w != w && g != g)) { if (bad < 5) printf("x=%.9g want %.9g got %.9g\\n", xs[i + l], w, g); bad++; } }',
      '  }',
      '  printf("%d wrong\\n", bad); return bad != 0;',
      '}',
    ].join('\n');
    const file = path.join(work, `vexp${lanes}.c`), exe = file.replace(/\.c$/, '');
    fs.writeFileSync(file, src);
    const b = spawnSync(process.env.CC || 'cc', [...defaultCFlags({}), '-o', exe, file, '-lm'], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    const r = spawnSync(exe, { encoding: 'utf8' });
    expect(r.stdout.trim().split('\n').pop()).toBe('0 wrong');
  });
}
