/**
 * Paths written inside a model are shown readably in diagnostics: control characters escaped and
 * very long paths shortened in the middle, so a hostile or broken location still gives one short line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AicError, shownPath } from '@aic/core';
import { loadOnnxFile, onnx } from '@aic/onnx';

const f32vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
/** y = x + c, c read from external data at `location` */
function modelAt(location: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-paths-'));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', node: [{ opType: 'Add', input: ['x', 'c'], output: ['y'] }],
      initializer: [{ name: 'c', dims: [2], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: location }] }],
      input: [f32vi('x')], output: [f32vi('y')],
    },
  })).finish());
  return file;
}
function message(file: string): string {
  try {
    loadOnnxFile(file);
  } catch (e) {
    expect(e).toBeInstanceOf(AicError);
    return (e as AicError).format();
  }
  throw new Error('expected the model to be refused');
}

describe('paths in data diagnostics', () => {
  it('shownPath escapes control characters and shortens long paths', () => {
    expect(shownPath('a/b.bin')).toBe('a/b.bin');
    expect(shownPath('w.bin\0../x\n')).toBe('w.bin\\x00../x\\x0a');
    const long = 'a/'.repeat(500) + 'w.bin';
    const s = shownPath(long);
    expect(s.length).toBeLessThan(200);
    expect(s.startsWith('a/a/')).toBe(true);
    expect(s.endsWith('/w.bin (1005 characters)')).toBe(true);
  });

  it('a NUL in a location is escaped in the one-line message', () => {
    const m = message(modelAt('data/w.bin\0../../x'));
    expect(m).toMatch(/error AIC0040: initializer 'c': data path 'data\/w\.bin\\x00\.\.\/\.\.\/x' is not a file name$/);
    expect(m).not.toContain('\0');
  });

  it('a missing file with a 6000-character location gives a short line', () => {
    const m = message(modelAt('a/'.repeat(3000) + 'w.bin'));
    expect(m).toMatch(/error AIC0005: initializer 'c': weights file '.*\.\.\..*\/w\.bin \(\d+ characters\)' not found$/);
    expect(m.length).toBeLessThan(400);
    expect(m).not.toContain('\n');
  });
});
