"""tiny_bert (the shared export's architecture and seed) with a dynamic sequence axis: positions are the
first L rows of the position table (a Slice by the input's length), and the batch is fixed to 1.
Usage: /usr/bin/python3 scripts/export-tiny-bert-dynseq.py OUT_DIR  -> OUT_DIR/tiny_bert_dynseq.onnx
plus OUT_DIR/tiny_bert_dynseq.L{16,32,64}.{input,output}.npy (PyTorch's outputs)."""
import os, sys, warnings
import numpy as np, torch

warnings.filterwarnings("ignore")

class TinyBertDyn(torch.nn.Module):
    def __init__(self, vocab=1000, d=128, heads=4, layers=2, seq=128):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.randn(1, seq, d) * 0.02)
        layer = torch.nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, 2)
    def forward(self, ids):
        x = self.emb(ids) + self.pos[:, : ids.shape[1]]
        x = self.norm(self.enc(x))
        return self.head(x[:, 0])

def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = TinyBertDyn().eval()
    x = torch.randint(0, 1000, (1, 64))
    path = os.path.join(out, "tiny_bert_dynseq.onnx")
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {1: "S"}}, do_constant_folding=False)
    g = torch.Generator().manual_seed(1)
    for L in (16, 32, 64, 128):
        ids = torch.randint(0, 1000, (1, L), generator=g)
        with torch.no_grad():
            y = model(ids)
        np.save(os.path.join(out, f"tiny_bert_dynseq.L{L}.input.npy"), ids.numpy())
        np.save(os.path.join(out, f"tiny_bert_dynseq.L{L}.output.npy"), y.numpy().astype(np.float32))
    print(path, os.path.getsize(path))

if __name__ == "__main__":
    main(sys.argv[1])
