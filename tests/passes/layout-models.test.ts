/**
 * layout-nc4hw4 on real models: every model in ../shared/models through
 * fold-constants,eliminate-redundant,fuse,layout-nc4hw4,eliminate-dead-nodes must still match
 * PyTorch's NAME.output.npy via the interpreter (rtol 1e-3, atol 1e-4), with its NC4HW4 values
 * really holding [N, C/4, H, W, 4] data at runtime. Prints regions / conversions per model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, parseNpy, verifyStructure, type Graph } from '@aic/core';
import { loadOnnxFile } from '@aic/onnx';
import { run } from '@aic/interp';
import { parsePipeline, runPipeline, tensorDiff } from '@aic/passes';

const SHARED = path.resolve(import.meta.dirname, '../../../shared/models');
const PIPELINE = 'fold-constants,eliminate-redundant,fuse,layout-nc4hw4,eliminate-dead-nodes';
const models = fs.existsSync(SHARED)
  ? fs.readdirSync(SHARED).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort()
  : [];
if (!models.length) console.log(`skipped: layout-nc4hw4 model tests (${SHARED} not found)`);

/** Conversions agree with the types they connect, and none undoes the one feeding it. */
function checkConversions(g: Graph): void {
  for (const n of g.nodes) {
    if (n.op !== 'LayoutConvert' || n.domain !== 'aic') continue;
    const from = n.attrs.from.value, to = n.attrs.to.value;
    expect(n.inputs[0]!.type.layout ?? 'NCHW').toBe(from);
    expect(n.outputs[0].type.layout ?? 'NCHW').toBe(to);
    const p = n.inputs[0]!.producer;
    if (p?.op === 'LayoutConvert' && p.domain === 'aic') {
      expect(`${p.attrs.from.value}->${p.attrs.to.value}`, `inverse pair back to back at ${n.outputs[0].name}`).not.toBe(`${to}->${from}`);
    }
  }
}

describe.skipIf(!models.length)('layout-nc4hw4 keeps the models\' numbers', () => {
  for (const name of models) {
    it(name, () => {
      const meta = JSON.parse(fs.readFileSync(path.join(SHARED, `${name}.json`), 'utf8'));
      const g = loadOnnxFile(path.join(SHARED, meta.model));
      const { graph, reports } = runPipeline(g, parsePipeline(PIPELINE));
      verifyStructure(graph);
      checkConversions(graph);
      const st = reports.find((r) => r.pass === 'layout-nc4hw4')!.stats;
      console.log(`${name}: regions ${st['regions']}, conversions inserted ${st['conversions-inserted']}, values converted ${st['values-converted']}, constants re-laid out ${st['constants-relaid-out']}`);
      const isCnn = graph.nodes.some((n) => n.op === 'Conv' || n.op === 'FusedConv');
      if (isCnn) expect(st['regions']).toBeGreaterThan(0);

      const feeds: Record<string, Tensor> = {};
      for (const i of meta.inputs) feeds[i.name] = parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, i.file))));
      let physical = 0;
      const outs = run(graph, feeds, {
        onNode: (n, res) => n.outputs.forEach((o, i) => {
          const t = res[i];
          if (o.type.layout === 'NC4HW4' && t instanceof Tensor) { expect(t.rank).toBe(5); physical++; }
        }),
      });
      if (st['values-converted'] > 0) expect(physical).toBeGreaterThan(0);
      for (const o of meta.outputs) {
        const want = parseNpy(new Uint8Array(fs.readFileSync(path.join(SHARED, o.file))));
        const got = outs.get(o.name) as Tensor;
        expect(tensorDiff(got, want), `${name}/${o.name}`).toBeUndefined();
      }
    }, 600_000);
  }
});
