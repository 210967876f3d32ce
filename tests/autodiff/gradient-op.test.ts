/** The ONNX Gradient op (ai.onnx.preview.training): the `simple` test set's two models, with their reference data. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '@aic/interp';
import { decodeValueFile, loadOnnxFile } from '@aic/onnx';
import { validateGraph } from '@aic/ir-spec';
import type { RValue, Tensor } from '@aic/core';

const DIR = '/usr/share/libonnx-testdata/data/simple';

describe('ONNX Gradient op', () => {
  for (const name of ['test_gradient_of_add', 'test_gradient_of_add_and_mul']) {
    it(`${name} matches its reference outputs`, () => {
      const g = loadOnnxFile(path.join(DIR, name, 'model.onnx'));
      validateGraph(g);
      expect(g.nodes.some((n) => n.op === 'Gradient')).toBe(false);
      const ds = path.join(DIR, name, 'test_data_set_0');
      const feeds = new Map<string, RValue>(g.inputs.map((v, i) => [v.name, decodeValueFile(fs.readFileSync(path.join(ds, `input_${i}.pb`)))]));
      const outs = run(g, feeds);
      g.outputs.forEach((v, i) => {
        const want = decodeValueFile(fs.readFileSync(path.join(ds, `output_${i}.pb`))) as Tensor;
        const got = outs.get(v.name) as Tensor;
        expect(got.shape, v.name).toEqual(want.shape);
        expect(got.toNumbers(), v.name).toEqual(want.toNumbers());
      });
    });
  }
});
