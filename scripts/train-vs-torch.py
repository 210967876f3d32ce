#!/usr/bin/python3
"""Check `aic train-step` against PyTorch: N steps of small_cnn on fixed data (sgd, momentum or adam).

Writes the step graph with `aic train-step MODEL --loss cross-entropy --optimizer OPT --lr LR`, runs it
N times with `aic run --target TARGET` (each step's <name>_next fed back as <name>, parameters and
optimizer state alike), and compares the parameters after the last step with torch.optim.SGD
(momentum=M for momentum) or torch.optim.Adam on the same architecture and weights (built as
../shared/tools/export_models.py does), in float64 and float32. Run with /usr/bin/python3.

Usage: scripts/train-vs-torch.py [--optimizer sgd|momentum|adam] [--target wasm-simd] [--steps 10]
       [--lr 0.1 (adam: 0.001)] [--momentum 0.9] [--nesterov] [--eps 1e-8] [--weight-decay 0] [--batchnorm model|train] [--models-dir tests/fixtures/models]
ONNX Adam adds eps to sqrt(v) before the bias correction, torch.optim.Adam after; the check gives torch
eps / sqrt(1 - beta2^t) at step t, which is ONNX's update, and also prints the distance to torch's own.
With --batchnorm train the step uses batch statistics (torch's model.train()) and carries the
BatchNorm running statistics; running_mean is compared with torch's, running_var with ONNX's rule
(momentum * var + (1 - momentum) * the biased batch variance; torch takes the unbiased one, whose
distance is printed too).
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


def torch_optimizer(a, params):
    if a.optimizer == 'adam':
        return torch.optim.Adam(params, lr=a.lr, eps=a.eps, weight_decay=a.weight_decay)
    if a.optimizer == 'momentum':
        return torch.optim.SGD(params, lr=a.lr, momentum=a.momentum, nesterov=a.nesterov, weight_decay=a.weight_decay)
    return torch.optim.SGD(params, lr=a.lr, weight_decay=a.weight_decay)


def bn_onnx_var(model):
    """BatchNorm running variances under ONNX's rule (the biased batch variance), kept by forward hooks."""
    onnx_var = {}
    for n, m in model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            onnx_var[n] = m.running_var.detach().clone()
            def hook(mod, inp, n=n):
                v = inp[0].detach().var(dim=(0, 2, 3), unbiased=False)
                onnx_var[n] = onnx_var[n] * (1 - mod.momentum) + v * mod.momentum
            m.register_forward_pre_hook(hook)
    return onnx_var


def torch_steps(x, labels, a, dtype, onnx_eps=True):
    """ONNX Adam adds eps to sqrt(v) before the bias correction, torch after: with onnx_eps, step t
    gives torch eps / sqrt(1 - beta2^t), which makes its update the ONNX one exactly."""
    model = gvt.build('small_cnn').to(dtype)
    onnx_var = None
    if a.batchnorm == 'train':
        model.train()
        onnx_var = bn_onnx_var(model)
    opt = torch_optimizer(a, model.parameters())
    for t in range(1, a.steps + 1):
        if a.optimizer == 'adam' and onnx_eps:
            opt.param_groups[0]['eps'] = a.eps / (1 - 0.999 ** t) ** 0.5
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x.to(dtype)), labels).backward()
        opt.step()
    out = {n: p.detach().double().numpy() for n, p in model.named_parameters()}
    if onnx_var is not None:
        for n, v in onnx_var.items():
            out[f'{n}.running_mean'] = model.get_submodule(n).running_mean.double().numpy()
            out[f'{n}.running_var'] = v.double().numpy()
            out[f'{n}.running_var (torch)'] = model.get_submodule(n).running_var.double().numpy()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--models-dir', default=os.path.join(HERE, '..', 'tests', 'fixtures', 'models'))
    ap.add_argument('--target', default='wasm-simd')
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--optimizer', choices=['sgd', 'momentum', 'adam'], default='sgd')
    ap.add_argument('--lr', type=float)
    ap.add_argument('--momentum', type=float, default=0.9)
    ap.add_argument('--nesterov', action='store_true', help='momentum: Nesterov step')
    ap.add_argument('--eps', type=float, default=1e-8)
    ap.add_argument('--weight-decay', type=float, default=0.0)
    ap.add_argument('--batchnorm', choices=['model', 'train'], default='model', help='train: batch statistics (torch model.train())')
    a = ap.parse_args()
    if a.lr is None:
        a.lr = 0.001 if a.optimizer == 'adam' else 0.1
    hyper = {'sgd': [], 'momentum': ['--momentum', str(a.momentum)] + (['--nesterov'] if a.nesterov else []), 'adam': ['--eps', str(a.eps)]}[a.optimizer]
    torch.set_num_threads(1)
    x_np = np.load(os.path.join(a.models_dir, 'small_cnn.input.npy'))
    x, labels = torch.from_numpy(x_np), torch.tensor([3])
    with tempfile.TemporaryDirectory() as tmp:
        step = os.path.join(tmp, 'step.onnx')
        gvt.aic('train-step', os.path.join(a.models_dir, 'small_cnn.onnx'), '--loss', 'cross-entropy',
                '--optimizer', a.optimizer, '--lr', str(a.lr), *hyper, '--batchnorm', a.batchnorm, '--weight-decay', str(a.weight_decay), '-o', step)
        np.save(os.path.join(tmp, 'x.npy'), x_np); np.save(os.path.join(tmp, 'labels.npy'), labels.numpy())
        params = os.path.join(tmp, 'step.params')
        names = [n for n, _ in gvt.build('small_cnn').named_parameters()]
        state = {'sgd': [], 'momentum': ['velocity'], 'adam': ['m', 'v']}[a.optimizer]
        bn = [f'{n}.{s}' for n, m in gvt.build('small_cnn').named_modules() if isinstance(m, torch.nn.BatchNorm2d)
              for s in ('running_mean', 'running_var')] if a.batchnorm == 'train' else []
        fed = names + [f'{n}_{s}' for s in state for n in names] + (['step'] if state else []) + bn
        t0 = time.time()
        for s in range(a.steps):
            out = os.path.join(tmp, f'out{s}')
            feeds = sum([['--input', f'{n}={os.path.join(params, file_of(n))}'] for n in fed], [])
            gvt.aic('run', step, '--target', a.target, '--input', 'input=' + os.path.join(tmp, 'x.npy'),
                    '--input', 'labels=' + os.path.join(tmp, 'labels.npy'), *feeds, '--output-dir', out)
            params = os.path.join(tmp, f'p{s}')
            os.makedirs(params)
            for n in fed:
                os.rename(os.path.join(out, n + '_next.npy'), os.path.join(params, file_of(n)))
        secs = time.time() - t0
        got = {n: np.load(os.path.join(params, file_of(n))).astype(np.float64) for n in names + bn}
    names = names + bn
    want64 = torch_steps(x, labels, a, torch.float64)
    want32 = torch_steps(x, labels, a, torch.float32)
    d64 = max(float(np.abs(got[n] - want64[n]).max()) for n in names)
    d32 = max(float(np.abs(got[n] - want32[n]).max()) for n in names)
    moved = max(float(np.abs(want64[n] - p.detach().double().numpy()).max()) for n, p in gvt.build('small_cnn').named_parameters())
    ok = d64 <= TOL
    if bn:
        dv = max(float(np.abs(got[n] - want64[n + ' (torch)']).max()) for n in bn if n.endswith('running_var'))
        print(f"BatchNorm in training mode: running statistics compared too; running_var vs torch's own (unbiased batch variance): {dv:.3g}")
    hyper_text = (f', momentum {a.momentum}' + (' nesterov' if a.nesterov else '')) if a.optimizer == 'momentum' else ''
    if a.optimizer == 'adam':
        plain = torch_steps(x, labels, a, torch.float64, onnx_eps=False)
        dp = max(float(np.abs(got[n] - plain[n]).max()) for n in names)
        print(f"(vs torch.optim.Adam with its own eps placement, float64: {dp:.3g}; the check uses eps / sqrt(1 - beta2^t) in torch, ONNX Adam's)")
    bn_text = ', BatchNorm training mode' if bn else ''
    print(f"small_cnn, {a.steps} {a.optimizer} steps{bn_text} (lr {a.lr}{hyper_text}) on {a.target}: {'ok' if ok else 'FAIL'}: max |param - torch float64| {d64:.3g}, "
          f"vs torch float32 {d32:.3g} (parameters moved up to {moved:.3g}); {a.steps} aic run calls took {secs:.1f} s (each compiles the step)")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
