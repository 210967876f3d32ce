#!/usr/bin/python3
"""Check `aic train-step --optimizer sgd` against PyTorch: N SGD steps of small_cnn on fixed data.

Writes the step graph with `aic train-step MODEL --loss cross-entropy --lr LR`, runs it N times with
`aic run --target TARGET` (each step's <param>_next fed back as <param>), and compares the parameters
after the last step with torch.optim.SGD on the same architecture and weights (built as
../shared/tools/export_models.py does), in float64 and float32. Run with /usr/bin/python3.

Usage: scripts/train-vs-torch.py [--target wasm-simd] [--steps 10] [--lr 0.1] [--models-dir tests/fixtures/models]
Exit 0 when every parameter matches the float64 reference within 1e-4 (absolute), else 1.
"""
import argparse, importlib.util, os, subprocess, sys, tempfile, time
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('gvt', os.path.join(HERE, 'grad-vs-torch.py'))
gvt = importlib.util.module_from_spec(spec); spec.loader.exec_module(gvt)
TOL = 1e-4


def file_of(name):
    return ''.join(c if c.isalnum() or c in '._-' else '_' for c in name) + '.npy'


def torch_steps(x, labels, steps, lr, dtype):
    model = gvt.build('small_cnn').to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x.to(dtype)), labels).backward()
        opt.step()
    return {n: p.detach().double().numpy() for n, p in model.named_parameters()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--models-dir', default=os.path.join(HERE, '..', 'tests', 'fixtures', 'models'))
    ap.add_argument('--target', default='wasm-simd')
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--lr', type=float, default=0.1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    x_np = np.load(os.path.join(a.models_dir, 'small_cnn.input.npy'))
    x, labels = torch.from_numpy(x_np), torch.tensor([3])
    with tempfile.TemporaryDirectory() as tmp:
        step = os.path.join(tmp, 'step.onnx')
        gvt.aic('train-step', os.path.join(a.models_dir, 'small_cnn.onnx'), '--loss', 'cross-entropy', '--lr', str(a.lr), '-o', step)
        np.save(os.path.join(tmp, 'x.npy'), x_np); np.save(os.path.join(tmp, 'labels.npy'), labels.numpy())
        params = os.path.join(tmp, 'step.params')
        names = [n for n, _ in gvt.build('small_cnn').named_parameters()]
        t0 = time.time()
        for s in range(a.steps):
            out = os.path.join(tmp, f'out{s}')
            feeds = sum([['--input', f'{n}={os.path.join(params, file_of(n))}'] for n in names], [])
            gvt.aic('run', step, '--target', a.target, '--input', 'input=' + os.path.join(tmp, 'x.npy'),
                    '--input', 'labels=' + os.path.join(tmp, 'labels.npy'), *feeds, '--output-dir', out)
            params = os.path.join(tmp, f'p{s}')
            os.makedirs(params)
            for n in names:
                os.rename(os.path.join(out, n + '_next.npy'), os.path.join(params, file_of(n)))
        secs = time.time() - t0
        got = {n: np.load(os.path.join(params, file_of(n))).astype(np.float64) for n in names}
    want64 = torch_steps(x, labels, a.steps, a.lr, torch.float64)
    want32 = torch_steps(x, labels, a.steps, a.lr, torch.float32)
    d64 = max(float(np.abs(got[n] - want64[n]).max()) for n in names)
    d32 = max(float(np.abs(got[n] - want32[n]).max()) for n in names)
    moved = max(float(np.abs(want64[n] - p.detach().double().numpy()).max()) for n, p in gvt.build('small_cnn').named_parameters())
    ok = d64 <= TOL
    print(f"small_cnn, {a.steps} SGD steps (lr {a.lr}) on {a.target}: {'ok' if ok else 'FAIL'}: max |param - torch float64| {d64:.3g}, "
          f"vs torch float32 {d32:.3g} (parameters moved up to {moved:.3g}); {a.steps} aic run calls took {secs:.1f} s (each compiles the step)")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
