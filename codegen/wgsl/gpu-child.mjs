/**
 * A child process that owns a WebGPU device (Dawn, `webgpu` package) and serves requests over IPC
 * (serialization 'advanced'): { id, op: 'run', host, weights, feeds, dims? } runs a generated model.mjs once;
 * { id, op: 'time', host, weights, feeds, reps } times each of its dispatches (aic tune) and runs it once;
 * { id, op: 'info', wgsl } returns the shader module's compilation messages; { id, op: 'adapter' }.
 * Started by gpu-client.mjs with one environment of gpuAttempts() (system drivers or SwiftShader);
 * a failed { op: 'adapter' } tells the client to try the next one.
 */
import { nodeGpuDevice } from './node-gpu.mjs';

async function handle(msg) {
  const { device, adapterInfo, wgslFeatures } = await nodeGpuDevice();
  if (msg.op === 'adapter') return { adapter: adapterInfo };
  if (msg.op === 'info') {
    const m = device.createShaderModule({ code: msg.wgsl });
    const info = await m.getCompilationInfo();
    return { messages: info.messages.map((x) => ({ type: x.type, message: x.message, lineNum: x.lineNum, linePos: x.linePos })) };
  }
  const mod = await import(`data:text/javascript;base64,${Buffer.from(msg.host).toString('base64')}`);
  // msg.packedDot4 forces the int8 dot product form (tests); by default the GPU's WGSL features decide
  const model = await mod.load({ device, weights: msg.weights, packedDot4: msg.packedDot4 ?? wgslFeatures.includes('packed_4x8_integer_dot_product') });
  try {
    if (msg.op === 'time') {
      const t = await model.timeDispatches(msg.feeds, { reps: msg.reps });
      return { outputs: t.outputs, dispatchMs: t.ms, adapter: adapterInfo };
    }
    let outputs;
    const reps = msg.reps ?? 1;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) outputs = await model.run(msg.feeds, msg.dims);
    return { outputs, ms: performance.now() - t0, adapter: adapterInfo, dot4: model.dot4 };
  } finally {
    model.destroy();
  }
}

process.on('message', async (msg) => {
  let reply;
  try {
    reply = { id: msg.id, ok: true, ...(await handle(msg)) };
  } catch (e) {
    reply = { id: msg.id, ok: false, message: e && e.message ? e.message : String(e), ...(e && e.aicCheck ? { check: e.aicCheck } : {}) };
  }
  process.send(reply);
});
process.on('disconnect', () => process.exit(0));
