/** The loop-IR verifier accepts every kernel the compiler produces and rejects malformed ones. */
import { describe, expect, it } from 'vitest';
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { C_CAPS, chooseSchedules, lowerGraph, rescheduleProgram } from '@aic/codegen';
import { LoopIrError, parseKernel, verifyKernel } from '@aic/loop-ir';
import { zooModel, zooNames } from '../model-zoo.ts';

describe('loop-IR verifier', () => {
  for (const name of zooNames()) {
    it(`accepts every scheduled kernel of ${name}`, () => {
      const g = runPipeline(loadOnnxFile(zooModel(name).onnx), pipelineFor(2)).graph;
      const prog = lowerGraph(g, C_CAPS);
      rescheduleProgram(prog, chooseSchedules(prog, C_CAPS));
      for (const k of prog.kernels) verifyKernel(k);
    }, 120_000);
  }

  const bad: [string, string, RegExp][] = [
    ['unbound variable', 'kernel k(input A: f32[4], output B: f32[4]) {\n  B[i] = A[0]\n}', /expected a defined variable/],
    ['mixed operand types', 'kernel k(input A: f32[4], input I: i32[4], output B: f32[4]) {\n  for i in 0..4 {\n    B[i] = (A[i] + I[i])\n  }\n}', /operands of add have types f32 and i32/],
    ['store to an input', 'kernel k(input A: f32[4], output B: f32[4]) {\n  A[0] = 1.0:f32\n}', /read-only input buffer 'A'/],
    ['constant index out of bounds', 'kernel k(input A: f32[4], output B: f32[4]) {\n  B[4] = A[0]\n}', /B\[4\] is outside \[0, 4\)/],
    ['non-bool condition', 'kernel k(input A: f32[4], output B: f32[4]) {\n  if A[0] {\n    B[0] = 1.0:f32\n  }\n}', /if condition has type f32/],
  ];
  for (const [what, text, re] of bad) {
    it(`rejects: ${what}`, () => {
      let err: unknown;
      try { verifyKernel(parseKernel(text)); } catch (e) { err = e; }
      expect(String(err)).toMatch(re);
      if (!/expected a defined variable/.test(String(err))) expect(err).toBeInstanceOf(LoopIrError);
    });
  }
});
