/**
 * npx tsx benchmarks/wgsl-vec4.ts [MODEL...] [--swiftshader]
 *
 * WGSL at -O3: NC4HW4 kernels with vec4<f32> channel lanes (codegen/wgsl/blocked.ts, vec4.ts) vs the
 * same -O3 program on the generic scalar-lane schedules (one element per invocation). No GPU here:
 * the evidence is what the shaders do, counted statically from the artifacts: dispatches, invocations
 * (sum over dispatches of workgroups x workgroup size), dispatches of one invocation, and storage
 * accesses in the WGSL text (32-bit words vs vec4). With --swiftshader both also run on SwiftShader,
 * interleaved in one process (CPU emulation: ratios say little about a GPU; reported, never a gate).
 */
import { exitOnHelp } from '../scripts/script-help.ts';
exitOnHelp(import.meta.filename);
import { loadOnnxFile } from '@aic/onnx';
import { pipelineFor, runPipeline } from '@aic/passes';
import { closeWgsl, compileWgsl, lowerGraph, passTarget, runWgsl, WGSL_CAPS, type WgslCompiled } from '@aic/codegen';
import { scalarLaneSchedules } from '../codegen/wgsl/schedule.ts';
import { zooModel } from '../tests/model-zoo.ts';

const args = process.argv.slice(2);
const emulate = args.includes('--swiftshader');
const names = args.filter((a) => !a.startsWith('--'));

function counts(c: WgslCompiled) {
  const d = c.manifest.dispatches;
  const inv = (x: (typeof d)[number]) => x.workgroups.reduce((a, b) => a * b, 1) * x.workgroupSize.reduce((a, b) => a * b, 1);
  return {
    dispatches: d.length,
    invocations: d.reduce((a, x) => a + inv(x), 0),
    single: d.filter((x) => inv(x) === 1).length,
    vec4: (c.wgsl.match(/bitcast<vec4<(f32|u32)>>\(\w+_b\d+\[|\w+_b\d+\[[^\]\n]*\] = bitcast<vec4<u32>>/g) ?? []).length,
    words: (c.wgsl.match(/bitcast<f32>\(\w+_b\d+\[|\w+_b\d+\[[^\]\n]*\](\[[0-3]\]| *= bitcast<u32>)/g) ?? []).length,
  };
}

const meta = { version: 'bench', source: 'wgsl-vec4', sourceHash: '-' };
for (const name of names.length ? names : ['small_cnn', 'squeezenet1_1', 'mobilenet_v2', 'shufflenet_v2_x1_0', 'resnet18', 'efficientnet_b0']) {
  const m = zooModel(name);
  const o3 = () => runPipeline(loadOnnxFile(m.onnx), pipelineFor(3), { target: passTarget('wgsl'), out: () => {} }).graph;
  const vec = compileWgsl(o3(), meta);
  const scalar = compileWgsl(o3(), { ...meta, schedules: scalarLaneSchedules(lowerGraph(o3(), WGSL_CAPS), WGSL_CAPS) });
  const a = counts(vec), b = counts(scalar);
  let line = `${name}: dispatches ${a.dispatches} vs ${b.dispatches}; invocations ${a.invocations} vs ${b.invocations} (${(a.invocations / b.invocations).toFixed(2)}x);`
    + ` one-invocation dispatches ${a.single} vs ${b.single}; static storage accesses vec4 ${a.vec4} + 32-bit ${a.words} vs vec4 ${b.vec4} + 32-bit ${b.words}`;
  if (emulate) {
    const feeds = new Map(m.inputs);
    const ms = { vec: [] as number[], scalar: [] as number[] };
    for (let r = 0; r < 3; r++) {
      ms.vec.push((await runWgsl(vec, feeds)).ms);
      ms.scalar.push((await runWgsl(scalar, feeds)).ms);
    }
    const med = (x: number[]) => x.sort((p, q) => p - q)[1];
    line += `; SwiftShader median of 3: ${med(ms.vec).toFixed(0)} ms vs ${med(ms.scalar).toFixed(0)} ms (${(med(ms.vec) / med(ms.scalar)).toFixed(2)}x, CPU emulation)`;
  }
  console.log(line);
}
closeWgsl();
