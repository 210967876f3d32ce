#!/usr/bin/python3
"""Check `aic grad --loss cross-entropy` against PyTorch autograd on the same architecture and weights.

For each model, rebuild it as ../shared/tools/export_models.py does (seed 0, randomised BatchNorm
statistics, eval mode), check the forward output against NAME.output.npy (the weights are the same),
run `aic grad MODEL --loss cross-entropy` and `aic run` on the gradient model (interpreter, -O2), and
compare every `<param>_grad` with torch's param.grad (F.cross_entropy on the first output, labels fixed).
The reference is torch autograd in float64 (the float32 model's weights, widened): the interpreter
accumulates in double, and torch's own float32 CPU gradients of resnet18's first layers differ from its
float64 ones by up to 0.7% (more than the tolerance); the float32 figures are printed too.
Needs Debian's python3-torch / python3-torchvision (run with /usr/bin/python3).

Usage: scripts/grad-vs-torch.py [--models-dir ../shared/models] [--target interp] [NAME ...]
       (NAME from small_cnn, resnet18, tiny_bert; default all three)
Exit 0 when every gradient matches within rtol 1e-3 / atol 1e-5, else 1.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import torch, torchvision
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_bert_torch import TinyBert  # noqa: E402

RTOL, ATOL = 1e-3, 1e-5
HERE = os.path.dirname(os.path.abspath(__file__))
AIC = os.path.join(HERE, '..', 'bin', 'aic')


class SmallCnn(torch.nn.Module):
    """As export_models.py: an MNIST-sized CNN ending in softmax (its output is taken as the logits)."""
    def __init__(self):
        super().__init__()
        self.f = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 5), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 5), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(256, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    def forward(self, x):
        return torch.softmax(self.f(x), dim=1)


MODELS = {"small_cnn": SmallCnn, "resnet18": torchvision.models.resnet18, "tiny_bert": TinyBert}


def build(name):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5)
    return model


def aic(*args):
    r = subprocess.run([AIC, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"aic {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")


def torch_grads(name, x_np, dtype):
    """PyTorch's loss and parameter gradients for F.cross_entropy(first output, labels) in `dtype`."""
    model = build(name).to(dtype)
    x = torch.from_numpy(x_np)
    out = model(x.to(dtype) if x.is_floating_point() else x)
    labels = torch.arange(out.shape[0], dtype=torch.int64) % out.shape[1] + 1
    loss = torch.nn.functional.cross_entropy(out, labels)
    loss.backward()
    return out.detach().float().numpy(), labels, loss.item(), {n: p.grad.detach().double().numpy() for n, p in model.named_parameters()}


def worst_ratio(got, want):
    return float((np.abs(got - want) / (ATOL + RTOL * np.abs(want))).max()) if want.size else 0.0


def check(name, models_dir, target, tmp, run_args=()):
    onnx_file = os.path.join(models_dir, name + '.onnx')
    x_np = np.load(os.path.join(models_dir, name + '.input.npy'))
    out, labels, loss32, g32 = torch_grads(name, x_np, torch.float32)
    _, _, loss64, g64 = torch_grads(name, x_np, torch.float64)
    ref = np.load(os.path.join(models_dir, name + '.output.npy'))
    fwd = float(np.abs(out - ref).max())
    grad_file = os.path.join(tmp, name + '.grad.onnx')
    labels_file = os.path.join(tmp, name + '.labels.npy')
    np.save(labels_file, labels.numpy())
    out_dir = os.path.join(tmp, name + '.out')
    aic('grad', onnx_file, '--loss', 'cross-entropy', '-o', grad_file)
    aic('run', grad_file, '--target', target, '--input', 'input=' + os.path.join(models_dir, name + '.input.npy'),
        '--input', 'labels=' + labels_file, '--output-dir', out_dir, *run_args)
    got_loss = float(np.load(os.path.join(out_dir, 'loss.npy')))
    worst64 = worst32 = torch_noise = 0.0
    bad, missing = [], []
    for pname, want in g64.items():
        f = os.path.join(out_dir, pname + '_grad.npy')
        if not os.path.exists(f):
            missing.append(pname)
            continue
        got = np.load(f).astype(np.float64)
        if got.shape != want.shape:
            bad.append(f"{pname} (shape {got.shape}, torch {want.shape})")
            continue
        worst64, worst32 = max(worst64, worst_ratio(got, want)), max(worst32, worst_ratio(got, g32[pname]))
        torch_noise = max(torch_noise, worst_ratio(g32[pname], want))
        if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
            bad.append(f"{pname} (max |diff| {float(np.abs(got - want).max()):.3g}, max |grad| {float(np.abs(want).max()):.3g})")
    ok = not bad and not missing and abs(got_loss - loss64) <= ATOL + RTOL * abs(loss64)
    print(f"{name}: {'ok' if ok else 'FAIL'}: {len(g64) - len(missing)} parameter gradients compared; worst |diff| / (atol + rtol |ref|): "
          f"aic vs torch float64 {worst64:.3f}, aic vs torch float32 {worst32:.3f}, torch float32 vs float64 {torch_noise:.3f}; "
          f"loss aic {got_loss:.6g} torch {loss64:.6g}; forward vs {name}.output.npy max |diff| {fwd:.2g}")
    for b in bad: print(f"  mismatch: {b}")
    for m in missing: print(f"  missing: {m}_grad")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--models-dir', default=os.path.join(HERE, '..', '..', 'shared', 'models'))
    ap.add_argument('--target', default='interp')
    ap.add_argument('--run-args', default='', help="extra aic run options, e.g. '-O0'")
    ap.add_argument('names', nargs='*', default=list(MODELS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        results = [check(n, a.models_dir, a.target, tmp, a.run_args.split()) for n in a.names]
    print(f"summary: {sum(results)}/{len(results)} models match PyTorch autograd (rtol {RTOL}, atol {ATOL})")
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
