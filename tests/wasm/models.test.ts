/**
 * Every model of the zoo through --target wasm-simd matches its reference (rtol 1e-3, atol 1e-4),
 * both the way `aic run` runs it and through the generated model.mjs imported directly.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { compileWasm, runWasm, writeWasmArtifact } from '@aic/codegen';
import { excess, zooModel, zooNames } from '../model-zoo.ts';

describe('zoo models via --target wasm-simd', () => {
  for (const name of zooNames()) {
    it(name, async () => {
      const m = zooModel(name);
      const g = runPipeline(loadOnnxFile(m.onnx), pipelineFor(2)).graph;
      const c = compileWasm(g, { simd: true, version: 'test', source: name, sourceHash: '-' });
      // 1. as `aic run --target wasm-simd` does
      const viaRun = await runWasm(c, new Map(m.inputs));
      // 2. the artifact as a user gets it: import model.mjs from the output directory
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `aic-wasm-${name}-`));
      try {
        writeWasmArtifact(dir, c);
        const mod = await import(pathToFileURL(path.join(dir, 'model.mjs')).href);
        const model = await mod.load();
        const feeds: Record<string, unknown> = {};
        for (const i of model.inputs as { name: string; dtype: string }[]) {
          const t = m.inputs.get(i.name)!;
          feeds[i.name] = i.dtype === 'int64' ? BigInt64Array.from(t.num as ArrayLike<number>, (v) => BigInt(v)) : Float32Array.from(t.num as ArrayLike<number>);
        }
        const direct = await model.run(feeds);
        for (const [o, want] of m.outputs) {
          const a = viaRun.get(o)!;
          expect(a.shape).toEqual(want.shape);
          const e1 = excess(a.num, want.num, 1e-3, 1e-4);
          expect(e1.worst, `${name}/${o} via run [${e1.at}]`).toBeLessThanOrEqual(0);
          const b = Array.from(direct[o] as ArrayLike<number>, Number);
          const e2 = excess(b, want.num, 1e-3, 1e-4);
          expect(e2.worst, `${name}/${o} via model.mjs [${e2.at}]`).toBeLessThanOrEqual(0);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 600_000);
  }
});
