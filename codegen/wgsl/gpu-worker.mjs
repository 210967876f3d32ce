/**
 * Worker thread relaying blocking requests (the synchronous conformance runner) to the GPU child
 * process: the main thread posts a request and waits on flag[0]; the reply comes on the shared port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GpuChild } from './gpu-client.mjs';

const { flag, reply } = workerData;
const child = new GpuChild();

parentPort.on('message', async (msg) => {
  let out;
  try {
    out = await child.request(msg);
  } catch (e) {
    out = { ok: false, message: e && e.message ? e.message : String(e) };
  }
  reply.postMessage(out);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
