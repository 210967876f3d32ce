/**
 * `aic run --target T` on models with sequence inputs and outputs (issue 13): the ONNX node test
 * test_sequence_insert_at_front, its inputs given as the test's .pb files (a SequenceProto among them),
 * compiled for c and wasm-simd; the output sequence is written as output_sequence_0.npy ... and matches
 * the test's reference SequenceProto.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy } from '@aic/core';
import { decodeValueFile } from '@aic/onnx';

const ROOT = path.resolve(import.meta.dirname, '..');
const T = '/usr/share/libonnx-testdata/data/node/test_sequence_insert_at_front';
const DS = `${T}/test_data_set_0`;

describe('aic run with sequence inputs and outputs on compiled targets', () => {
  const ref = decodeValueFile(new Uint8Array(fs.readFileSync(`${DS}/output_0.pb`)), 'sequence', { baseDir: DS, file: 'output_0.pb' }) as Tensor[];
  for (const target of ['c', 'wasm-simd']) {
    it(target, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aic-seq-'));
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/aic'), 'run', `${T}/model.onnx`, '--target', target,
        '--input', `sequence=${DS}/input_0.pb`, '--input', `tensor=${DS}/input_1.pb`, '--input', `position=${DS}/input_2.pb`,
        '--output-dir', dir, '--verbose'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: ROOT });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain("input 'position' decides the structure of a sequence or optional");
      expect(ref.length).toBeGreaterThan(1);
      ref.forEach((want, i) => {
        const got = parseNpy(new Uint8Array(fs.readFileSync(path.join(dir, `output_sequence_${i}.npy`))));
        expect(got.shape).toEqual(want.shape);
        expect(Array.from(got.num)).toEqual(Array.from(want.num));
      });
      expect(fs.existsSync(path.join(dir, `output_sequence_${ref.length}.npy`))).toBe(false);
    });
  }
});
