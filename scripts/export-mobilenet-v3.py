#!/usr/bin/python3
"""Export torchvision MobileNetV3 (small, large), and other torchvision CNNs, to ONNX as a new user would
(random weights, seed 0).

Needs Debian's python3-torch, python3-torchvision and python3-onnx (run with /usr/bin/python3).
Usage: scripts/export-mobilenet-v3.py OUT_DIR [NAME ...]   (NAME: a key of MODELS below)
mobilenet_v3_small / _large: opset 17 with torch.onnx.export's defaults (HardSwish is one op).
mobilenet_v3_small_opset13 / _large_opset13: opset 13 exported raw like ../shared/tools/export_models.py
(BatchNormalization and Identity kept); opset 13 has no HardSwish, so torch writes x * HardSigmoid(x).
Writes NAME.onnx, NAME.input.npy,
NAME.output.npy (PyTorch's output) and NAME.json, like ../shared/tools/export_models.py, so
benchmarks/node-counts.ts --dir OUT_DIR and tests/models.test.ts can check aic against PyTorch.
HardSwish and squeeze-excite (AdaptiveAvgPool -> Conv -> ReLU -> Conv -> Hardsigmoid -> Mul) are what
these models exercise. The others (opset 17, defaults): regnet_y_400mf (grouped convs, squeeze-excite),
mnasnet0_5 (5x5 depthwise), googlenet (inception concats, ceil-mode pooling), squeezenet1_0 (7x7 stem).
The .onnx files are several MB: keep them out of git.
"""
import os, sys
import torch, torchvision
from export_common import write_io

# name: (constructor, opset, raw export)
MODELS = {
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, 17, False),
    "mobilenet_v3_large": (torchvision.models.mobilenet_v3_large, 17, False),
    "mobilenet_v3_small_opset13": (torchvision.models.mobilenet_v3_small, 13, True),
    "mobilenet_v3_large_opset13": (torchvision.models.mobilenet_v3_large, 13, True),
    "regnet_y_400mf": (torchvision.models.regnet_y_400mf, 17, False),
    "mnasnet0_5": (torchvision.models.mnasnet0_5, 17, False),
    "googlenet": (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True), 17, False),
    "squeezenet1_0": (torchvision.models.squeezenet1_0, 17, False),
}

def export(name, out):
    ctor, opset, raw = MODELS[name]
    torch.manual_seed(0)
    model = ctor().eval()
    # Non-trivial BatchNorm statistics, so folding them into the convolutions is really exercised.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out, name + ".onnx")
    extra = {"do_constant_folding": False, "training": torch.onnx.TrainingMode.PRESERVE} if raw else {}
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["output"], **extra)
    write_io(out, name, x, y, opset, f"torchvision {torchvision.__version__} / torch {torch.__version__} architecture, random weights, seed 0")

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in (sys.argv[2:] or MODELS):
        export(name, out)
