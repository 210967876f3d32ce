#!/usr/bin/python3
"""Export torchvision models nobody tuned aic for, the way other people export them, for
scripts/control-flow-sweep.sh (which runs every model of a folder on every target and compares).

Usage: /usr/bin/python3 scripts/export-torchvision-sweep.py OUT_DIR [NAME...]
Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME/input.npy + out_output.npy (PyTorch's output), and NAME.input.npy,
NAME.output.npy, NAME.json as ../shared/tools/export_models.py does, so `npm run bench:c -- -O 3 --dir OUT_DIR`
and `npx tsx benchmarks/wasm-bench.ts --dir OUT_DIR` compare them with ONNX Runtime. Random weights
(seeded), batch 1, small images where the model allows (the graph is the same at any size), opset 13
unless the name ends in _o17 (opset 17: LayerNormalization as one op). Models: transformers (ViT, Swin,
MaxViT at reduced depth/width, torchvision's own classes), CNNs with ops the shared zoo lacks (DenseNet
concat chains, GoogLeNet/Inception branches and ceil-mode pools, ConvNeXt LayerNorm over channels last,
EfficientNetV2 fused MBConv, RegNet group convs), segmentation heads (DeepLabV3 ASPP with dilated convs
and Resize, LRASPP, FCN), video models (R(2+1)D and R3D: 3-D convs), ResNet-50 at 224x224 (the size the shared zoo runs), ViT-B/16 and Swin-T at full size, and a post-training-quantized MobileNetV3 (QDQ, int8 Constant nodes). Needs Debian's python3-torch and
python3-torchvision.
"""
import os, sys, warnings
import numpy as np, torch, torchvision
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_common import write_io
from torchvision import models as M
from torchvision.models import segmentation as SEG, video as VID
warnings.filterwarnings("ignore")

def vit():
    return M.VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128, num_classes=10)
def swin():
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4], num_classes=10)
def maxvit():
    from torchvision.models.maxvit import MaxVit
    return MaxVit(input_size=(64, 64), stem_channels=16, partition_size=4, block_channels=[32, 64], block_layers=[1, 1], head_dim=16, stochastic_depth_prob=0.0, num_classes=10)

# name: (constructor, input shape)
MODELS = {
    "vit_small": (vit, (1, 3, 64, 64)),
    "vit_small_o17": (vit, (1, 3, 64, 64)),
    "swin_small": (swin, (1, 3, 64, 64)),
    "maxvit_small": (maxvit, (1, 3, 64, 64)),
    "convnext_tiny": (lambda: M.convnext_tiny(), (1, 3, 64, 64)),
    "densenet121": (lambda: M.densenet121(), (1, 3, 64, 64)),
    "googlenet": (lambda: M.googlenet(aux_logits=False, init_weights=True), (1, 3, 64, 64)),
    "inception_v3": (lambda: M.inception_v3(aux_logits=False, init_weights=True), (1, 3, 96, 96)),
    "efficientnet_v2_s": (lambda: M.efficientnet_v2_s(), (1, 3, 64, 64)),
    "regnet_x_400mf": (lambda: M.regnet_x_400mf(), (1, 3, 64, 64)),
    "mobilenet_v3_large": (lambda: M.mobilenet_v3_large(), (1, 3, 64, 64)),
    "resnext50_32x4d": (lambda: M.resnext50_32x4d(), (1, 3, 64, 64)),
    "shufflenet_v2_x0_5": (lambda: M.shufflenet_v2_x0_5(), (1, 3, 64, 64)),
    "alexnet": (lambda: M.alexnet(), (1, 3, 224, 224)),
    "deeplabv3_mobilenet": (lambda: SEG.deeplabv3_mobilenet_v3_large(weights_backbone=None, num_classes=5, aux_loss=False), (1, 3, 64, 64)),
    "lraspp_mobilenet": (lambda: SEG.lraspp_mobilenet_v3_large(weights_backbone=None, num_classes=5), (1, 3, 64, 64)),
    "fcn_resnet50": (lambda: SEG.fcn_resnet50(weights_backbone=None, num_classes=5, aux_loss=False), (1, 3, 64, 64)),
    "r2plus1d_18": (lambda: VID.r2plus1d_18(num_classes=10), (1, 3, 4, 32, 32)),
    "r3d_18": (lambda: VID.r3d_18(num_classes=10), (1, 3, 4, 32, 32)),
    "mnasnet1_0": (lambda: M.mnasnet1_0(), (1, 3, 64, 64)),
    "vgg11_bn": (lambda: M.vgg11_bn(), (1, 3, 224, 224)),
    "wide_resnet50_2": (lambda: M.wide_resnet50_2(), (1, 3, 64, 64)),
    "regnet_y_400mf": (lambda: M.regnet_y_400mf(), (1, 3, 64, 64)),
    "mobilenet_v3_small": (lambda: M.mobilenet_v3_small(), (1, 3, 96, 96)),
    "resnet50_224": (lambda: M.resnet50(), (1, 3, 224, 224)),
    "vit_b_16": (lambda: M.vit_b_16(), (1, 3, 224, 224)),
    "swin_t": (lambda: M.swin_t(), (1, 3, 224, 224)),
    # torchvision's post-training-quantized MobileNetV3 (fbgemm): exported as QDQ with int8 Constant nodes
    "mobilenet_v3_large_q": (lambda: M.quantization.mobilenet_v3_large(quantize=True), (1, 3, 96, 96)),
    "efficientnet_b3": (lambda: M.efficientnet_b3(), (1, 3, 96, 96)),
    "regnet_y_800mf": (lambda: M.regnet_y_800mf(), (1, 3, 96, 96)),
    "mc3_18": (lambda: M.video.mc3_18(), (1, 3, 8, 64, 64)),
}

def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip()); print("Names:", " ".join(MODELS))
        sys.exit(0 if len(sys.argv) > 1 else 2)
    unknown = [n for n in sys.argv[2:] if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {' '.join(unknown)}; names: {' '.join(MODELS)}")
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out, exist_ok=True)
    for name in names:
        make, shape = MODELS[name]
        torch.manual_seed(0)
        model = make().eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
        if isinstance(y, dict):
            y = y["out"]
        opset = 17 if name.endswith("_o17") else 13
        path = os.path.join(out, name + ".onnx")
        # Exported with autograd on: under no_grad, nn.MultiheadAttention takes its fused fast path
        # (aten::_native_multi_head_attention), which torch.onnx cannot export.
        try:
            torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["output"])
        except Exception as e:  # one model the exporter refuses does not stop the others
            print(name, "export failed:", str(e).splitlines()[0][:200], flush=True)
            continue
        os.makedirs(os.path.join(out, name), exist_ok=True)
        np.save(os.path.join(out, name, "input.npy"), x.numpy())
        np.save(os.path.join(out, name, "out_output.npy"), y.detach().numpy())
        write_io(out, name, x, y.detach(), opset, "torchvision.models " + name + " (scripts/export-torchvision-sweep.py)")

if __name__ == "__main__":
    main()
