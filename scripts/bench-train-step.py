#!/usr/bin/python3
"""Benchmark (report, never gate): one SGD step of small_cnn compiled to wasm-simd against PyTorch CPU.

Compiles `aic train-step` for small_cnn with `aic compile --target wasm-simd`, then alternates, ROUNDS
times: node runs STEPS steps through the generated loader (runSync, each step's <param>_next fed back),
and torch (1 thread) runs STEPS steps of forward, backward and torch.optim.SGD on the same data. Each
side times its own loop (process start-up excluded); the medians per step and their ratio are printed.
Usage: scripts/bench-train-step.py [--steps 50] [--rounds 5]   (run with /usr/bin/python3)
"""
import argparse, importlib.util, json, os, statistics, subprocess, sys, tempfile, time
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('gvt', os.path.join(HERE, 'grad-vs-torch.py'))
gvt = importlib.util.module_from_spec(spec); spec.loader.exec_module(gvt)

NODE_LOOP = r"""
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [dir, paramsDir, xFile, steps] = process.argv.slice(2);
const npy = (f) => { const b = readFileSync(f); const h = b.readUInt16LE(8); const body = new Uint8Array(b.subarray(10 + h)).buffer;
  return /'descr':\s*'<i8'/.test(b.subarray(10, 10 + h).toString('latin1')) ? new BigInt64Array(body) : new Float32Array(body); };
const m = await (await import(pathToFileURL(dir + '/model.mjs').href)).load();
const feeds = { input: npy(xFile), labels: new BigInt64Array([3n]) };
const names = m.inputs.map((x) => x.name).filter((n) => n !== 'input' && n !== 'labels');
for (const n of names) feeds[n] = npy(paramsDir + '/' + n.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy');
const step = () => { const out = m.runSync(feeds); for (const n of names) feeds[n] = out[n + '_next'].slice(); return out.loss[0]; };
for (let i = 0; i < 5; i++) step();
const t0 = performance.now();
for (let i = 0; i < Number(steps); i++) step();
console.log(JSON.stringify({ ms: (performance.now() - t0) / Number(steps) }));
"""


def torch_loop(x, steps):
    model = gvt.build('small_cnn')
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    labels = torch.tensor([3])
    def step():
        opt.zero_grad(); torch.nn.functional.cross_entropy(model(x), labels).backward(); opt.step()
    for _ in range(5): step()
    t0 = time.perf_counter()
    for _ in range(steps): step()
    return (time.perf_counter() - t0) * 1000 / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=50)
    ap.add_argument('--rounds', type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    models = os.path.join(HERE, '..', 'tests', 'fixtures', 'models')
    x_file = os.path.join(models, 'small_cnn.input.npy')
    x = torch.from_numpy(np.load(x_file))
    with tempfile.TemporaryDirectory() as tmp:
        step = os.path.join(tmp, 'step.onnx')
        gvt.aic('train-step', os.path.join(models, 'small_cnn.onnx'), '--loss', 'cross-entropy', '--lr', '0.1', '-o', step)
        gvt.aic('compile', step, '--target', 'wasm-simd', '-o', os.path.join(tmp, 'w'))
        loop = os.path.join(tmp, 'loop.mjs')
        open(loop, 'w').write(NODE_LOOP)
        aic_ms, torch_ms = [], []
        for _ in range(a.rounds):
            r = subprocess.run(['node', loop, os.path.join(tmp, 'w'), os.path.join(tmp, 'step.params'), x_file, str(a.steps)],
                               capture_output=True, text=True, check=True)
            aic_ms.append(json.loads(r.stdout)['ms'])
            torch_ms.append(torch_loop(x, a.steps))
    am, tm = statistics.median(aic_ms), statistics.median(torch_ms)
    print(f"small_cnn SGD step, batch 1: aic wasm-simd {am:.3f} ms, PyTorch CPU (1 thread) {tm:.3f} ms per step "
          f"(medians of {a.rounds} alternating rounds of {a.steps} steps); aic / torch = {am / tm:.2f}")


if __name__ == '__main__':
    sys.exit(main())
