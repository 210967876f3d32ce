#!/usr/bin/python3
"""Export a DBNet-style text detector (ResNet-18 backbone, FPN neck, DB probability head with two
ConvTranspose upsamplings) to ONNX as a new user would: torch.onnx.export's defaults, opset 17,
random weights (seed 0) with non-trivial BatchNorm statistics.

Needs Debian's python3-torch, python3-torchvision and python3-onnx (run with /usr/bin/python3).
Usage: scripts/export-dbnet.py OUT_DIR [SIZE]   (SIZE: input height = width, default 320)
Writes dbnet_r18.onnx, .input.npy, .output.npy (PyTorch's output) and .json, like
../shared/tools/export_models.py, so benchmarks/c-bench.ts --dir OUT_DIR and wasm-bench.ts --dir
OUT_DIR run it against ONNX Runtime. The head is PaddleOCR's / MMOCR's DB head:
Conv3x3 + BN + ReLU -> ConvTranspose(k2, s2) + BN + ReLU -> ConvTranspose(k2, s2) -> Sigmoid.
"""
import os, sys
import torch, torchvision
from export_common import write_io
from torch import nn
import torch.nn.functional as F

class DBNet(nn.Module):
    def __init__(self, inner=96):
        super().__init__()
        r = torchvision.models.resnet18()
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
        self.layers = nn.ModuleList([r.layer1, r.layer2, r.layer3, r.layer4])
        self.lat = nn.ModuleList([nn.Conv2d(c, inner, 1, bias=False) for c in (64, 128, 256, 512)])
        self.out = nn.ModuleList([nn.Conv2d(inner, inner // 4, 3, padding=1, bias=False) for _ in range(4)])
        q = inner // 4
        self.head = nn.Sequential(
            nn.Conv2d(inner, q, 3, padding=1, bias=False), nn.BatchNorm2d(q), nn.ReLU(),
            nn.ConvTranspose2d(q, q, 2, 2), nn.BatchNorm2d(q), nn.ReLU(),
            nn.ConvTranspose2d(q, 1, 2, 2), nn.Sigmoid())

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for l in self.layers:
            x = l(x); feats.append(x)
        p = [lat(f) for lat, f in zip(self.lat, feats)]
        for i in (2, 1, 0):
            p[i] = p[i] + F.interpolate(p[i + 1], scale_factor=2, mode="nearest")
        o = [conv(t) for conv, t in zip(self.out, p)]
        o = [F.interpolate(t, scale_factor=2 ** i, mode="nearest") if i else t for i, t in enumerate(o)]
        return self.head(torch.cat(o[::-1], 1))

def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out, size = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 320
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = DBNet().eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        y = model(x)
    name = "dbnet_r18"
    path = os.path.join(out, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=17, input_names=["input"], output_names=["output"])
    write_io(out, name, x, y, 17, f"DBNet-style detector on torchvision {torchvision.__version__} resnet18 / torch {torch.__version__}, random weights, seed 0")

if __name__ == "__main__":
    main()
