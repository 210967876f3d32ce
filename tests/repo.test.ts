/** Repository hygiene: the generated op reference is current and the TypeScript sources type-check. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allOps } from '@aic/ir-spec';
import { renderOpsMd } from '../ir-spec/gen-ops-md.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('repository', () => {
  it('ir-spec/OPS.md matches the op definitions (npm run gen:ops)', () => {
    expect(fs.readFileSync(path.join(ROOT, 'ir-spec/OPS.md'), 'utf8')).toBe(renderOpsMd());
  });

  it('every op has a summary, a category, infer and eval', () => {
    for (const d of allOps()) {
      expect(d.summary.length, d.name).toBeGreaterThan(3);
      expect(typeof d.infer, d.name).toBe('function');
      expect(typeof d.eval, d.name).toBe('function');
    }
  });

  it('type-checks under strict TypeScript (tsc --noEmit)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 180_000);
});
