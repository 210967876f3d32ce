"""tiny_bert (the shared export's architecture and seed) with a dynamic sequence axis: positions are the
first L rows of the position table (a Slice by the input's length), and the batch is fixed to 1.
Usage: /usr/bin/python3 scripts/export-tiny-bert-dynseq.py OUT_DIR  -> OUT_DIR/tiny_bert_dynseq.onnx
plus OUT_DIR/tiny_bert_dynseq.L{16,32,64}.{input,output}.npy (PyTorch's outputs).
With --batch the batch axis is dynamic too ('batch'): OUT_DIR/tiny_bert_dynbatch.onnx plus
OUT_DIR/tiny_bert_dynbatch.B{n}.L{L}.{input,output}.npy for (n, L) in (1, 16), (2, 32), (3, 64), (4, 128)."""
import os, sys, warnings
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_bert_torch import TinyBert  # noqa: E402

warnings.filterwarnings("ignore")

def main(out, batch):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = TinyBert(seq=128, slice_positions=True).eval()
    name = "tiny_bert_dynbatch" if batch else "tiny_bert_dynseq"
    x = torch.randint(0, 1000, (2, 64) if batch else (1, 64))
    path = os.path.join(out, f"{name}.onnx")
    axes = {"input": {0: "batch", 1: "S"}, "output": {0: "batch"}} if batch else {"input": {1: "S"}}
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes=axes, do_constant_folding=False)
    g = torch.Generator().manual_seed(1)
    for n, L in ((1, 16), (2, 32), (3, 64), (4, 128)) if batch else ((1, 16), (1, 32), (1, 64), (1, 128)):
        ids = torch.randint(0, 1000, (n, L), generator=g)
        with torch.no_grad():
            y = model(ids)
        tag = f"B{n}.L{L}" if batch else f"L{L}"
        np.save(os.path.join(out, f"{name}.{tag}.input.npy"), ids.numpy())
        np.save(os.path.join(out, f"{name}.{tag}.output.npy"), y.numpy().astype(np.float32))
    print(path, os.path.getsize(path))

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--batch"]
    main(args[0], "--batch" in sys.argv[1:])
