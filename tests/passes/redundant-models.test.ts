/**
 * eliminate-redundant on real models: every model in ../shared/models through
 * fold-constants,eliminate-redundant,eliminate-dead-nodes must still match PyTorch's NAME.output.npy
 * via the interpreter (rtol 1e-3, atol 1e-4). Prints node counts (imported -> after each pass) and
 * the rules applied per model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, verifyStructure } from '@aic/core';
import { inferGraph } from '@aic/ir-spec';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { parsePipeline, runPipeline, tensorDiff } from '@aic/passes';

const SHARED = path.resolve(import.meta.dirname, '../../../shared/models');
const PIPELINE = 'fold-constants,eliminate-redundant,eliminate-dead-nodes';
const models = fs.existsSync(SHARED)
  ? fs.readdirSync(SHARED).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()
  : [];
if (!models.length) console.log(`skipped: eliminate-redundant model tests (${SHARED} not found)`);

describe.skipIf(!models.length)('eliminate-redundant keeps the models\' numbers', () => {
  for (const name of models) {
    it(name, () => {
      const meta = JSON.parse(fs.readFileSync(path.join(SHARED, `${name}.json`), 'utf8'));
      const g = loadOnnxFile(path.join(SHARED, meta.model));
      const { graph, reports } = runPipeline(g, parsePipeline(PIPELINE));
      verifyStructure(graph);
      inferGraph(graph);
      const applied = Object.entries(reports[1]!.stats).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(' ');
      console.log(`${name}: nodes ${g.nodes.length} -> ${reports.map((r) => r.nodesAfter).join(' -> ')}; ${applied || 'no rule applied'}`);
      expect(graph.outputs.map((v) => v.name)).toEqual(g.outputs.map((v) => v.name));

      const feeds: Record<string, Tensor> = {};
      for (const i of meta.inputs) feeds[i.name] = parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, i.file))));
      const outs = run(graph, feeds);
      for (const o of meta.outputs) {
        const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, o.file))));
        const got = outs.get(o.name);
        expect(got, `${name}: output ${o.name} missing`).toBeInstanceOf(Tensor);
        const why = tensorDiff(got as Tensor, want, 1e-3, 1e-4);
        expect(why, `${name}/${o.name}: ${why}`).toBeUndefined();
      }
    }, 300_000);
  }
});
