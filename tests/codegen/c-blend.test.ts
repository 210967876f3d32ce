/**
 * The branch-free vector min/max/select helpers (codegen/c/blend.ts) give, lane by lane, what the
 * scalar helpers give: NaN in either operand, ±0, ±Inf, for f32 and f64, at the widths the C target
 * uses; select on bool conditions for float, 64-bit and byte payloads. Built with the default flags
 * and with -O2 (no AVX: wide vectors emulated), warnings as errors. Then whole kernels whose selects
 * render as compare masks (MaxPool's NaN rule, PRelu, LeakyRelu, Clip, Where) on NaN, ±Inf and ±0
 * inputs give the reference interpreter's values bit for bit.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor, type RValue } from '@aic/core';
import { loadOnnx } from '@aic/onnx';
import { run } from '@aic/interp';
import { pipelineFor, runPipeline } from '@aic/passes';
import { buildC, compileC, defaultCFlags, passTarget, prepareForRun, runC, WARNING_FLAGS } from '@aic/codegen';
import { buildModel } from '../onnx-builder.ts';
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

describe('C kernels with mask selects', () => {
  it('MaxPool (ceil mode, NaN rule), PRelu, LeakyRelu, Clip and Where match the interpreter bit for bit', () => {
    const S = [2, 3, 9, 16];
    const n = S.reduce((a, b) => a * b, 1);
    const special = [NaN, Infinity, -Infinity, 0, -0, 1.5, -2.5, 3, -0.25];
    const xs = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? special[(i / 5) % special.length] : Math.sin(i) * 4));
    const slope = Float32Array.from({ length: 16 }, (_, i) => (i % 3) - 1.5);
    const bytes = buildModel([
      { op: 'MaxPool', inputs: ['x'], outputs: ['p'], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
      { op: 'PRelu', inputs: ['x', 's'], outputs: ['pr'] },
      { op: 'LeakyRelu', inputs: ['pr'], outputs: ['lr'] },
      { op: 'Clip', inputs: ['lr', 'lo', 'hi'], outputs: ['cl'] },
      { op: 'Less', inputs: ['x', 'cl'], outputs: ['c'] },
      { op: 'Where', inputs: ['c', 'x', 'pr'], outputs: ['y'] },
    ], [{ name: 'x', shape: S }, { name: 's', shape: [16] }, { name: 'lo', shape: [] }, { name: 'hi', shape: [] }],
    [{ name: 'p', shape: [2, 3, 4, 8] }, { name: 'y', shape: S }], 13);
    const feeds = new Map<string, RValue>([['x', new Tensor('float32', S, xs)], ['s', new Tensor('float32', [16], slope)],
      ['lo', new Tensor('float32', [], Float32Array.of(-1))], ['hi', new Tensor('float32', [], Float32Array.of(2))]]);
    const g = () => runPipeline(loadOnnx(bytes), pipelineFor(2), { target: passTarget('c'), out: () => {} }).graph;
    const want = run(g(), feeds);
    const gc = g();
    prepareForRun(gc, feeds);
    const c = compileC(gc, { version: 'test', source: 'masks', sourceHash: '-' });
    expect(c.art.c).toContain('aic_vblend_');
    const got = runC(buildC(c.art, c.prog), c.art, c.prog, feeds).outputs;
    for (const o of ['p', 'y']) {
      const a = (got.get(o) as Tensor).num, b = (want.get(o) as Tensor).num;
      const bad = Array.from(a).findIndex((v, i) => !Object.is(v, b[i]) && !(Number.isNaN(v) && Number.isNaN(b[i])));
      expect(bad, `${o}[${bad}] got ${a[bad]} want ${b[bad]}`).toBe(-1);
    }
  }, 120_000);
});
