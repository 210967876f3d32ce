#!/usr/bin/python3
"""Benchmark (report, never gate): one SGD step of small_cnn compiled to wasm-simd against PyTorch CPU.

Compiles `aic train-step` for small_cnn with `aic compile --target wasm-simd`, then alternates, ROUNDS
times: node runs STEPS steps through the generated loader twice, interleaved in one process: `copy`
(runSync, every <param>_next copied out and fed back in, as step() did before the in-place update) and
`in place` (step(): the parameters stay in module memory, <param>_next written over <param>); and torch
(1 thread) runs STEPS steps of forward, backward and torch.optim.SGD on the same data. Each side times
its own loop (process start-up excluded); the medians per step and their ratios are printed.
Usage: scripts/bench-train-step.py [--steps 50] [--rounds 5] [--model small_cnn|mlp [--width 1024]]   (run with /usr/bin/python3)
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
const [dir, paramsDir, xFile, steps, rounds] = process.argv.slice(2);
const npy = (f) => { const b = readFileSync(f); const h = b.readUInt16LE(8); const body = new Uint8Array(b.subarray(10 + h)).buffer;
  return /'descr':\s*'<i8'/.test(b.subarray(10, 10 + h).toString('latin1')) ? new BigInt64Array(body) : new Float32Array(body); };
const mod = await import(pathToFileURL(dir + '/model.mjs').href);
const data = { input: npy(xFile), labels: new BigInt64Array([3n]) };
const a = await mod.load(), b = await mod.load();
const names = a.inputs.map((x) => x.name).filter((n) => n !== 'input' && n !== 'labels');
const init = {};
for (const n of names) init[n] = npy(paramsDir + '/' + n.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy');
// copy: runSync with every parameter fed and every <param>_next copied out (step() before the in-place update)
const feeds = { ...data, ...init };
const copy = () => { const out = a.runSync(feeds); for (const n of names) feeds[n] = out[n + '_next']; return out.loss[0]; };
// in place: step() keeps the parameters in module memory
b.step({ ...data, ...init });
const inPlace = () => b.step(data).loss[0];
const time = (f) => { for (let i = 0; i < 3; i++) f(); const t0 = performance.now(); for (let i = 0; i < Number(steps); i++) f(); return (performance.now() - t0) / Number(steps); };
const r = { copy: [], inPlace: [] };
for (let k = 0; k < Number(rounds); k++) {
  if (k % 2) { r.inPlace.push(time(inPlace)); r.copy.push(time(copy)); } else { r.copy.push(time(copy)); r.inPlace.push(time(inPlace)); }
}
console.log(JSON.stringify(r));
"""


def mlp(width):
    """a parameter-heavy model (the copies matter): Linear(width, width), ReLU, Linear(width, 10), seeded"""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 10)).eval()


def export(model, x, path):
    """the model as ONNX (initializers named as torch's parameters), with onnx.helper"""
    import onnx
    from onnx import helper, numpy_helper
    ps = dict(model.named_parameters())
    inits = [numpy_helper.from_array(p.detach().numpy(), n) for n, p in ps.items()]
    nodes = [helper.make_node('Gemm', ['input', '0.weight', '0.bias'], ['h'], transB=1), helper.make_node('Relu', ['h'], ['r']),
             helper.make_node('Gemm', ['r', '2.weight', '2.bias'], ['logits'], transB=1)]
    g = helper.make_graph(nodes, 'mlp', [helper.make_tensor_value_info('input', onnx.TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor_value_info('logits', onnx.TensorProto.FLOAT, [x.shape[0], 10])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]), path)


def torch_loop(build, x, steps):
    model = build()
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
    ap.add_argument('--model', choices=['small_cnn', 'mlp'], default='small_cnn',
                    help='mlp: Linear(WIDTH, WIDTH), ReLU, Linear(WIDTH, 10), batch 1: parameter-heavy, where the copies show')
    ap.add_argument('--width', type=int, default=1024)
    a = ap.parse_args()
    torch.set_num_threads(1)
    models = os.path.join(HERE, '..', 'tests', 'fixtures', 'models')
    with tempfile.TemporaryDirectory() as tmp:
        if a.model == 'small_cnn':
            x_file, src, build = os.path.join(models, 'small_cnn.input.npy'), os.path.join(models, 'small_cnn.onnx'), lambda: gvt.build('small_cnn')
        else:
            x_file, src, build = os.path.join(tmp, 'x.npy'), os.path.join(tmp, 'mlp.onnx'), lambda: mlp(a.width)
            np.save(x_file, np.random.default_rng(0).standard_normal((1, a.width)).astype(np.float32))
            export(build(), np.load(x_file), src)
        x = torch.from_numpy(np.load(x_file))
        step = os.path.join(tmp, 'step.onnx')
        gvt.aic('train-step', src, '--loss', 'cross-entropy', '--lr', '0.1', '-o', step)
        gvt.aic('compile', step, '--target', 'wasm-simd', '-o', os.path.join(tmp, 'w'))
        loop = os.path.join(tmp, 'loop.mjs')
        open(loop, 'w').write(NODE_LOOP)
        aic_ms, copy_ms, torch_ms = [], [], []
        for _ in range(a.rounds):
            r = subprocess.run(['node', loop, os.path.join(tmp, 'w'), os.path.join(tmp, 'step.params'), x_file, str(a.steps), '4'],
                               capture_output=True, text=True, check=True)
            got = json.loads(r.stdout)
            aic_ms.append(statistics.median(got['inPlace'])); copy_ms.append(statistics.median(got['copy']))
            torch_ms.append(torch_loop(build, x, a.steps))
    am, cm, tm = statistics.median(aic_ms), statistics.median(copy_ms), statistics.median(torch_ms)
    what = 'small_cnn' if a.model == 'small_cnn' else f'mlp {a.width}'
    print(f"{what} SGD step, batch 1: aic wasm-simd {am:.3f} ms in place (step()), {cm:.3f} ms copying the parameters "
          f"(runSync), PyTorch CPU (1 thread) {tm:.3f} ms per step (medians of {a.rounds} alternating rounds of {a.steps} steps); "
          f"in place / copy = {am / cm:.3f}, aic / torch = {am / tm:.2f}")


if __name__ == '__main__':
    sys.exit(main())
