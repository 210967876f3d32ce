/**
 * The generated C builds without warnings (-Wall -Wextra -std=c99 -pedantic-errors, warnings fail
 * the build) and gives the same results with the default flags (defaultCFlags), a plain -O2 (no AVX: wide
 * vector types are emulated) and -DAIC_NO_VECTOR_EXT (plain C99, no vector extensions at all).
 */
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { buildC, compileC, defaultCFlags, runC } from '@aic/codegen';
import { excess, zooModel } from '../model-zoo.ts';

describe('generated C portability', () => {
  for (const name of ['small_cnn', 'tiny_bert']) {
    for (const cflags of [defaultCFlags({}), ['-O2'], ['-O2', '-DAIC_NO_VECTOR_EXT']]) {
      it(`${name} with ${cflags.join(' ')}`, () => {
        const m = zooModel(name);
        const g = runPipeline(loadOnnxFile(m.onnx), pipelineFor(2)).graph;
        const c = compileC(g, { version: 'test', source: name, sourceHash: '-' });
        const built = buildC(c.art, c.prog, { cflags });
        const { outputs } = runC(built, c.art, c.prog, new Map(m.inputs));
        for (const [o, want] of m.outputs) {
          const e = excess(outputs.get(o)!.num, want.num, 1e-3, 1e-4);
          expect(e.worst, `${name}/${o}[${e.at}]`).toBeLessThanOrEqual(0);
        }
      }, 120_000);
    }
  }
});
