/**
 * The page of `aic tune --runner browser`: it long-polls the server for jobs (browser-bridge.ts), and
 * for each one instantiates the batch module (every kernel exported), writes weights and inputs into
 * its memory, times the steps with the same loop as `aic profile` (wasm/time-steps.ts, embedded
 * here; each sample long enough for the browser's coarse clock), runs the steps once more on
 * fresh inputs, and POSTs back the median ms of each step and the outputs' bytes (checked in Node).
 * A wgsl job carries the batch's host module instead: the page loads it on navigator.gpu and POSTs
 * the ms of every dispatch (host-runtime.mjs timeDispatches), the outputs and the adapter.
 */
import { timeSteps } from '../wasm/time-steps.ts';

const SCRIPT = `
const timeSteps = ${timeSteps.toString()};
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const unb64 = (u) => { let s = ''; for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000)); return btoa(s); };
const status = (t) => { document.getElementById('status').textContent = t; };
async function run(job) {
  const host = {};
  for (const n of job.imports) host[n] = n === 'fmod' ? (a, b) => a % b : Math[n];
  // asynchronous: a page's main thread may not compile large modules synchronously
  const { instance: inst } = await WebAssembly.instantiate(b64(job.wasm), { Math: host });
  const mem = new Uint8Array(inst.exports.memory.buffer);
  for (const [offset, data] of job.writes) mem.set(b64(data), offset);
  const fns = job.steps.map((s) => { const f = inst.exports[s.kernel]; if (typeof f !== 'function') throw new Error('kernel ' + s.kernel + ' is not exported'); return f; });
  const stepMs = timeSteps(fns, job.steps.map((s) => s.args), job.reps, job.warmup, job.minSampleMs);
  // the outputs of one clean run (timing repeats steps, which must not decide what is checked)
  const clean = new Uint8Array(inst.exports.memory.buffer);
  for (const [offset, data] of job.writes) clean.set(b64(data), offset);
  job.steps.forEach((s, i) => fns[i](...s.args));
  const after = new Uint8Array(inst.exports.memory.buffer);
  return { stepMs, outputs: job.outputs.map((o) => unb64(after.slice(o.offset, o.offset + o.bytes))) };
}
// wgsl: the batch's host module (model.mjs) on this page's WebGPU adapter, every dispatch timed alone
async function runGpu(job) {
  const url = URL.createObjectURL(new Blob([job.host], { type: 'text/javascript' }));
  const mod = await import(url);
  URL.revokeObjectURL(url);
  const model = await mod.load(job.weights ? { weights: b64(job.weights) } : {});
  try {
    const t = await model.timeDispatches(job.feeds, { reps: job.reps });
    const outputs = {};
    for (const [k, v] of Object.entries(t.outputs)) outputs[k] = Array.from(v, Number);
    const info = model.device.adapterInfo ?? {};
    return { dispatchMs: t.ms, outputs, adapter: { vendor: info.vendor ?? '', architecture: info.architecture ?? '', description: info.description ?? '' } };
  } finally { model.destroy(); model.device.destroy(); }
}
(async () => {
  let n = 0;
  for (;;) {
    let job;
    // the server gone (aic stopped, or failed) ends the loop with a title a test or a user can see
    try { job = await (await fetch('/job', { cache: 'no-store' })).json(); } catch (e) { status('stopped: aic tune is no longer serving (' + e + ')'); document.title = 'aic tune: stopped'; return; }
    if (job.done) { status('done: ' + n + ' measurements; this tab may be closed'); document.title = 'aic tune: done'; return; }
    let res;
    try { res = { id: job.id, ...(await (job.host ? runGpu(job) : run(job))) }; } catch (e) { res = { id: job.id, error: String(e && e.message || e) }; }
    await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(res) });
    status('measuring: ' + (++n) + ' builds timed');
  }
})().catch((e) => status('error: ' + e));
`;

export const BROWSER_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>aic tune</title></head>
<body><h1>aic tune (wasm-simd / wgsl)</h1><p>Keep this tab in front while it measures.</p><p id="status">waiting for the first build</p>
<script type="module">${SCRIPT}</script></body></html>
`;
