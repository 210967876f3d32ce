#!/usr/bin/python3
"""Check the derivative rules' conventions at kinks and ties against PyTorch autograd (float64).

Builds one ONNX model holding a case per rule (Elu, Selu, HardSigmoid, HardSwish, Mish, Gelu tanh,
LeakyRelu, PRelu, Softsign, Celu, ThresholdedRelu, Clip with min/max inputs, ReduceMax/ReduceMin and
Max/Min with ties, ReduceL2, ReduceLogSumExp, weighted losses with
ignore_index, BatchNormalization in training mode), its inputs placed ON the kinks (x = 0, +-3, the clip
bounds, tied maxima); loss = sum over cases of sum(Y * R), R fixed. Runs `aic grad --loss sum --wrt
<every input>` and `aic run`, and compares each gradient with torch's on the same points and loss.
Finite differences cannot check these points (tests/autodiff/vjp-fd.test.ts checks the smooth parts);
this shows which side each rule takes. Run with /usr/bin/python3.

Usage: scripts/vjp-vs-torch.py [--target interp]
Exit 0 when every gradient matches within 1e-9 (absolute), else 1.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
AIC = os.path.join(HERE, '..', 'bin', 'aic')
TOL = 1e-9
KINKS = np.array([-4, -3, -1, -0.5, 0, 0.5, 1, 3, 4], np.float64)

# name -> (ONNX node builder(inputs, out), float inputs {name: array}, constant inputs {name: array}, torch fn(tensors, consts))
CASES = {
    'elu': (lambda i, o: [helper.make_node('Elu', i, o, alpha=0.75)], {'x': KINKS}, {}, lambda t, k: F.elu(t['x'], 0.75)),
    # ONNX's default alpha and gamma are float32 attributes (torch's are doubles): give torch's exactly
    'selu': (lambda i, o: [helper.make_node('Selu', i, o, alpha=1.5, gamma=1.25)], {'x': KINKS}, {}, lambda t, k: 1.25 * F.elu(t['x'], 1.5)),
    'hardsigmoid': (lambda i, o: [helper.make_node('HardSigmoid', i, o, alpha=1 / 6, beta=0.5)], {'x': KINKS}, {}, lambda t, k: F.hardsigmoid(t['x'])),
    'hardswish': (lambda i, o: [helper.make_node('HardSwish', i, o)], {'x': KINKS}, {}, lambda t, k: F.hardswish(t['x'])),
    'mish': (lambda i, o: [helper.make_node('Mish', i, o)], {'x': KINKS}, {}, lambda t, k: F.mish(t['x'])),
    'gelu_tanh': (lambda i, o: [helper.make_node('Gelu', i, o, approximate='tanh')], {'x': KINKS}, {}, lambda t, k: F.gelu(t['x'], approximate='tanh')),
    'leakyrelu': (lambda i, o: [helper.make_node('LeakyRelu', i, o, alpha=0.125)], {'x': KINKS}, {}, lambda t, k: F.leaky_relu(t['x'], 0.125)),
    'relu': (lambda i, o: [helper.make_node('Relu', i, o)], {'x': KINKS}, {}, lambda t, k: F.relu(t['x'])),
    'prelu': (lambda i, o: [helper.make_node('PRelu', i, o)], {'x': np.array([[-1, 0, 2], [0.5, -2, 0]]), 's': np.array([0.25, -0.5, 2.0])}, {},
              lambda t, k: F.prelu(t['x'], t['s'])),
    'clip': (lambda i, o: [helper.make_node('Clip', i, o)], {'x': np.array([-2, -1, -0.5, 0, 0.5, 1, 2.0]), 'lo': np.array(-1.0), 'hi': np.array(1.0)}, {},
             lambda t, k: torch.clamp(t['x'], t['lo'], t['hi'])),
    'reducemax': (lambda i, o: [helper.make_node('ReduceMax', [i[0], i[1]], o, keepdims=0)], {'x': np.array([[2, 5, 5], [1, 0, 5], [3, 3, 3.0]])},
                  {'axes': np.array([1], np.int64)}, lambda t, k: torch.amax(t['x'], dim=1)),
    'reducemin': (lambda i, o: [helper.make_node('ReduceMin', [i[0], i[1]], o, keepdims=1)], {'x': np.array([[2, 5, 2], [1, 1, 5], [3, 0, 3.0]])},
                  {'axes': np.array([0], np.int64)}, lambda t, k: torch.amin(t['x'], dim=0, keepdim=True)),
    'max2': (lambda i, o: [helper.make_node('Max', i, o)], {'a': np.array([1, 2, 3, -1.0]), 'b': np.array([1, 0, 3, 2.0])}, {},
             lambda t, k: torch.maximum(t['a'], t['b'])),
    'min2': (lambda i, o: [helper.make_node('Min', i, o)], {'a': np.array([1, 2, 3, -1.0]), 'b': np.array([1, 0, 3, 2.0])}, {},
             lambda t, k: torch.minimum(t['a'], t['b'])),
    'softsign': (lambda i, o: [helper.make_node('Softsign', i, o)], {'x': KINKS}, {}, lambda t, k: F.softsign(t['x'])),
    'celu': (lambda i, o: [helper.make_node('Celu', i, o, alpha=0.5)], {'x': KINKS}, {}, lambda t, k: F.celu(t['x'], 0.5)),
    'thresholdedrelu': (lambda i, o: [helper.make_node('ThresholdedRelu', i, o, alpha=0.5)], {'x': KINKS}, {}, lambda t, k: F.threshold(t['x'], 0.5, 0.0)),
    'reducel2': (lambda i, o: [helper.make_node('ReduceL2', [i[0], i[1]], o, keepdims=0)], {'x': np.array([[3, -4, 0], [1, 2, 2.0]])},
                 {'axes': np.array([1], np.int64)}, lambda t, k: torch.linalg.vector_norm(t['x'], dim=1)),
    'reducelogsumexp': (lambda i, o: [helper.make_node('ReduceLogSumExp', [i[0], i[1]], o, keepdims=0)], {'x': np.array([[3, -4, 0], [1, 2, 2.0]])},
                        {'axes': np.array([1], np.int64)}, lambda t, k: torch.logsumexp(t['x'], dim=1)),
    'sce_weighted_ignore_mean': (lambda i, o: [helper.make_node('SoftmaxCrossEntropyLoss', i, o, reduction='mean', ignore_index=-1)],
                                 {'x': np.sin(np.arange(12.0)).reshape(4, 3)}, {'labels': np.array([1, 0, -1, 2], np.int64), 'w': np.array([0.5, 2, 1.5])},
                                 lambda t, k: F.cross_entropy(t['x'], k['labels'], weight=k['w'], ignore_index=-1)),
    'sce_weighted_none': (lambda i, o: [helper.make_node('SoftmaxCrossEntropyLoss', i, o, reduction='none')],
                          {'x': np.cos(np.arange(12.0)).reshape(4, 3)}, {'labels': np.array([1, 0, 2, 2], np.int64), 'w': np.array([0.5, 2, 1.5])},
                          lambda t, k: F.cross_entropy(t['x'], k['labels'], weight=k['w'], reduction='none')),
    'nll_weighted_ignore_sum': (lambda i, o: [helper.make_node('NegativeLogLikelihoodLoss', i, o, reduction='sum', ignore_index=0)],
                                {'x': np.sin(np.arange(12.0) + 1).reshape(4, 3)}, {'labels': np.array([1, 0, 2, 2], np.int64), 'w': np.array([0.5, 2, 1.5])},
                                lambda t, k: F.nll_loss(t['x'], k['labels'], weight=k['w'], ignore_index=0, reduction='sum')),
    'batchnorm_train': (lambda i, o: [helper.make_node('BatchNormalization', i, o, training_mode=1, momentum=0.9, epsilon=1e-5)],
                        {'x': np.sin(np.arange(24.0) * 0.7).reshape(3, 2, 2, 2), 's': np.array([1.5, -0.5]), 'b': np.array([0.1, 0.2])},
                        {'m': np.array([0.1, -0.1]), 'v': np.array([0.9, 1.1])},
                        lambda t, k: F.batch_norm(t['x'], k['m'].clone(), k['v'].clone(), t['s'], t['b'], training=True, momentum=0.1, eps=1e-5)),
}


def build(path):
    """One model: every case's node, then loss = sum over cases of sum(Y * R)."""
    rng = np.random.default_rng(0)
    nodes, inputs, inits, terms, rs = [], [], [], [], {}
    for name, (make, floats, consts, fn) in CASES.items():
        ins = []
        for k, v in floats.items():
            inputs.append(helper.make_tensor_value_info(f'{name}.{k}', TensorProto.DOUBLE, list(v.shape))); ins.append(f'{name}.{k}')
        for k, v in consts.items():
            inits.append(numpy_helper.from_array(v, f'{name}.{k}')); ins.append(f'{name}.{k}')
        if name == 'batchnorm_train':
            ins = [f'{name}.x', f'{name}.s', f'{name}.b', f'{name}.m', f'{name}.v']
        nodes += make(ins, [f'{name}.y'])
        ref = fn({k: torch.tensor(v) for k, v in floats.items()}, {k: torch.tensor(v) for k, v in consts.items()})
        r = rng.uniform(-1, 1, tuple(ref.shape))
        rs[name] = r
        inits.append(numpy_helper.from_array(r, f'{name}.r'))
        nodes += [helper.make_node('Mul', [f'{name}.y', f'{name}.r'], [f'{name}.yr']),
                  helper.make_node('ReduceSum', [f'{name}.yr'], [f'{name}.term'], keepdims=0)]
        terms.append(f'{name}.term')
    nodes.append(helper.make_node('Sum', terms, ['total']))
    g = helper.make_graph(nodes, 'vjp_cases', inputs, [helper.make_tensor_value_info('total', TensorProto.DOUBLE, [])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 20)]), path)
    return rs


def aic(*args):
    r = subprocess.run([AIC, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"aic {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--target', default='interp')
    a = ap.parse_args()
    worst, ok = 0.0, True
    with tempfile.TemporaryDirectory() as tmp:
        model, grad, out = (os.path.join(tmp, f) for f in ('cases.onnx', 'grad.onnx', 'out'))
        rs = build(model)
        wrt = [f'{n}.{k}' for n, c in CASES.items() for k in c[1]]
        aic('grad', model, '--loss', 'sum', '--wrt', ','.join(wrt), '-o', grad)
        feeds = []
        for n, c in CASES.items():
            for k, v in c[1].items():
                np.save(os.path.join(tmp, f'{n}.{k}.npy'), v)
                feeds += ['--input', f'{n}.{k}={os.path.join(tmp, f"{n}.{k}.npy")}']
        aic('run', grad, '--target', a.target, *feeds, '--output-dir', out)
        for n, (make, floats, consts, fn) in CASES.items():
            t = {k: torch.tensor(v, requires_grad=True) for k, v in floats.items()}
            (fn(t, {k: torch.tensor(v) for k, v in consts.items()}) * torch.tensor(rs[n])).sum().backward()
            for k in floats:
                got = np.load(os.path.join(out, f'{n}.{k}_grad.npy'))
                d = float(np.abs(got - t[k].grad.numpy()).max())
                worst = max(worst, d)
                if d > TOL:
                    ok = False
                    print(f'{n} d/d{k}: FAIL max |aic - torch| {d:.3g}\n  aic   {got.ravel()}\n  torch {t[k].grad.numpy().ravel()}')
    print(f"{len(CASES)} cases at kinks and ties vs torch autograd (float64, {a.target}): {'ok' if ok else 'FAIL'}, max |aic - torch| {worst:.3g}")
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
