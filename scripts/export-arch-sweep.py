#!/usr/bin/python3
"""Export small models built from blocks people put in their own models, for scripts/control-flow-sweep.sh.

Usage: /usr/bin/python3 scripts/export-arch-sweep.py OUT_DIR [NAME...]
Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME/{INPUT}.npy + out_{OUTPUT}.npy (PyTorch's outputs). Random
weights, traced with torch.onnx.export (opset 17 unless the name says otherwise). The models:
- llama_block: RMSNorm, rotary embeddings (sin/cos tables, halves rotated with cat), causal
  attention (an additive -inf mask from torch.triu) with grouped KV heads (expand + reshape), SwiGLU MLP, tied LM head;
- llama_4l: four such layers at d 512, 128 tokens (a small language model's prefill, for timing);
- gpt_block: GPT-2-style block: LayerNorm, one QKV Linear split, a causal mask from torch.tril and
  masked_fill(-inf), tanh-approximated GELU, learned positions from arange;
- unet_small: a small U-Net: ConvTranspose2d up-sampling, skip concatenation, GroupNorm, SiLU,
  bilinear interpolate (align_corners=True) on the last level;
- tcn: dilated causal Conv1d stack (left padding with F.pad), weight-normed, residual, PReLU;
- gru_bi: bidirectional 2-layer GRU over a sequence, mean-pooled, with packed-free lengths;
- mha_enc: nn.TransformerEncoder (2 layers, norm_first, key_padding_mask from an int input);
- mixer: MLP-Mixer-style token mixing (transpose, Linear over tokens), einsum in the head;
- cumsum_argsort: CumSum, argsort by topk over the whole axis, gather by the indices, flip;
- pixel_shuffle_sr: ESPCN-style super resolution (PixelShuffle, depth-to-space);
- grid_sample: a spatial transformer (an affine grid from meshgrid, grid_sample bilinear with zeros
  padding; opset 16+);
- llama_block_dyn, gpt_block_dyn, mha_enc_dyn, gru_bi_dyn: those models traced with dynamic batch and
  sequence axes, run on other sizes than traced.
Needs Debian's python3-torch.
"""
import math, os, sys, warnings
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__(); self.w = nn.Parameter(torch.rand(d) + 0.5); self.eps = eps
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    rot = torch.cat([-x[..., h:], x[..., :h]], dim=-1)
    return x * cos + rot * sin


class LlamaLayer(nn.Module):
    def __init__(self, d, heads, kv_heads, ff):
        super().__init__()
        self.heads, self.kv, self.hd = heads, kv_heads, d // heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False); self.k = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v = nn.Linear(d, kv_heads * self.hd, bias=False); self.o = nn.Linear(d, d, bias=False)
        self.g = nn.Linear(d, ff, bias=False); self.u = nn.Linear(d, ff, bias=False); self.dn = nn.Linear(ff, d, bias=False)
    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        # grouped KV heads repeated as Hugging Face's repeat_kv does (expand, reshape): torch 1.13 traces
        # repeat_interleave with the traced sizes baked in (ONNX Runtime rejects that export too)
        rep = lambda z: z[:, :, None].expand(b, self.kv, self.heads // self.kv, t, self.hd).reshape(b, self.heads, t, self.hd)
        k, v = rep(k), rep(v)
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.hd) + causal, dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, -1))
        h = self.n2(x)
        return x + self.dn(F.silu(self.g(h)) * self.u(h))


class LlamaBlock(nn.Module):
    def __init__(self, vocab=96, d=64, heads=4, kv_heads=2, ff=160, seq=24, layers=1):
        super().__init__()
        self.emb = nn.Embedding(vocab, d); self.hd = d // heads
        self.layers = nn.ModuleList([LlamaLayer(d, heads, kv_heads, ff) for _ in range(layers)]); self.nf = RMSNorm(d)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.outer(torch.arange(seq).float(), inv)
        ang = torch.cat([ang, ang], -1)
        self.register_buffer("cos", ang.cos()); self.register_buffer("sin", ang.sin())
    def forward(self, ids):
        t = ids.shape[1]
        x = self.emb(ids)
        for layer in self.layers:
            x = layer(x, self.cos[:t], self.sin[:t])
        return self.nf(x) @ self.emb.weight.t()


class GptBlock(nn.Module):
    def __init__(self, vocab=80, d=48, heads=4, seq=20):
        super().__init__()
        self.wte = nn.Embedding(vocab, d); self.wpe = nn.Embedding(seq, d); self.heads = heads
        self.ln1, self.ln2, self.lnf = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d); self.proj = nn.Linear(d, d)
        self.fc = nn.Linear(d, 4 * d); self.out = nn.Linear(4 * d, d); self.head = nn.Linear(d, vocab, bias=False)
        self.register_buffer("mask", torch.tril(torch.ones(seq, seq)).view(1, 1, seq, seq))
    def forward(self, ids):
        b, t = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(t))
        q, k, v = self.qkv(self.ln1(x)).split(x.shape[-1], dim=2)
        hd = x.shape[-1] // self.heads
        q, k, v = (z.view(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, -1))
        x = x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return self.head(self.lnf(x))


class UNetSmall(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        blk = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GroupNorm(4, o), nn.SiLU())
        self.d1, self.d2, self.mid = blk(3, c), blk(c, 2 * c), blk(2 * c, 4 * c)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2); self.u2 = blk(4 * c, 2 * c)
        self.u1 = blk(3 * c, c); self.outc = nn.Conv2d(c, 2, 1)
    def forward(self, x):
        a = self.d1(x); b = self.d2(F.max_pool2d(a, 2)); m = self.mid(F.max_pool2d(b, 2))
        u = self.u2(torch.cat([self.up2(m), b], 1))
        u = F.interpolate(u, scale_factor=2, mode="bilinear", align_corners=True)
        return self.outc(self.u1(torch.cat([u, a], 1)))


class Tcn(nn.Module):
    def __init__(self, c=16, k=3):
        super().__init__()
        self.inp = nn.Conv1d(4, c, 1); self.k = k
        self.convs = nn.ModuleList([nn.utils.weight_norm(nn.Conv1d(c, c, k, dilation=2 ** i)) for i in range(4)])
        self.acts = nn.ModuleList([nn.PReLU(c) for _ in range(4)]); self.head = nn.Conv1d(c, 3, 1)
    def forward(self, x):
        h = self.inp(x)
        for i, (cv, act) in enumerate(zip(self.convs, self.acts)):
            h = h + act(cv(F.pad(h, ((self.k - 1) * 2 ** i, 0))))
        return self.head(h)


class GruBi(nn.Module):
    def __init__(self):
        super().__init__(); self.gru = nn.GRU(10, 16, num_layers=2, bidirectional=True, batch_first=True); self.fc = nn.Linear(32, 5)
    def forward(self, x):
        y, _ = self.gru(x)
        return self.fc(y.mean(1))


class MhaEnc(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.0, batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False); self.proj = nn.Linear(6, d)
    def forward(self, x, valid):
        pad = torch.arange(x.shape[1]).unsqueeze(0) >= valid.unsqueeze(1)
        return self.enc(self.proj(x), src_key_padding_mask=pad)


class Mixer(nn.Module):
    def __init__(self, tokens=16, d=24):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 4, stride=4); self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.tok = nn.Sequential(nn.Linear(tokens, 32), nn.GELU(), nn.Linear(32, tokens))
        self.ch = nn.Sequential(nn.Linear(d, 48), nn.GELU(), nn.Linear(48, d)); self.w = nn.Parameter(torch.randn(d, 7))
    def forward(self, x):
        h = self.patch(x).flatten(2).transpose(1, 2)
        h = h + self.tok(self.ln1(h).transpose(1, 2)).transpose(1, 2)
        h = h + self.ch(self.ln2(h))
        return torch.einsum("btd,dk->bk", h, self.w)


class CumsumArgsort(nn.Module):
    def forward(self, x):
        c = torch.cumsum(x, dim=1)
        _, idx = torch.topk(c, c.shape[1], dim=1)
        return torch.gather(x, 1, idx) * torch.cumsum(torch.ones_like(x), dim=1).flip(1)


class PixelShuffleSR(nn.Module):
    def __init__(self, r=2):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.Tanh(), nn.Conv2d(16, 8, 3, padding=1), nn.Tanh(),
                                  nn.Conv2d(8, r * r, 3, padding=1), nn.PixelShuffle(r))
    def forward(self, x):
        return self.body(x)


class GridSample(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Sequential(nn.Conv2d(1, 4, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.LazyLinear(6))
        self.cls = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 10))
    def forward(self, x):
        theta = self.loc(x).view(-1, 2, 3) * 0.1 + torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
        # affine_grid has no ONNX export in older torch: the same grid, as a matmul on the pixel centres
        h, w = x.shape[-2:]
        ys, xs = torch.meshgrid((torch.arange(h) * 2 + 1) / h - 1, (torch.arange(w) * 2 + 1) / w - 1, indexing="ij")
        base = torch.stack([xs, ys, torch.ones_like(xs)], -1).view(1, h * w, 3)
        grid = (base @ theta.transpose(1, 2)).view(-1, h, w, 2)
        return self.cls(F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False))


def models():
    g = torch.Generator().manual_seed(1)
    yield "llama_block", LlamaBlock, lambda: {"ids": torch.randint(0, 96, (2, 24), generator=g)}, 17
    # a small language model's prefill (4 layers, d 512, 128 tokens; about 3 GFLOP): for timing
    yield "llama_4l", lambda: LlamaBlock(vocab=2000, d=512, heads=8, kv_heads=4, ff=1376, seq=128, layers=4), \
        lambda: {"ids": torch.randint(0, 2000, (1, 128), generator=g)}, 17
    yield "gpt_block", GptBlock, lambda: {"ids": torch.randint(0, 80, (2, 20), generator=g)}, 17
    yield "unet_small", UNetSmall, lambda: {"x": torch.rand(1, 3, 32, 32, generator=g)}, 17
    yield "tcn", Tcn, lambda: {"x": torch.rand(2, 4, 50, generator=g)}, 17
    yield "gru_bi", GruBi, lambda: {"x": torch.rand(3, 12, 10, generator=g)}, 17
    yield "mha_enc", MhaEnc, lambda: {"x": torch.rand(2, 10, 6, generator=g), "valid": torch.tensor([10, 6])}, 17
    yield "mixer", Mixer, lambda: {"x": torch.rand(2, 3, 16, 16, generator=g)}, 17
    yield "cumsum_argsort", CumsumArgsort, lambda: {"x": torch.rand(3, 9, generator=g)}, 17
    yield "pixel_shuffle_sr", PixelShuffleSR, lambda: {"x": torch.rand(1, 1, 24, 24, generator=g)}, 17
    yield "grid_sample", GridSample, lambda: {"x": torch.rand(2, 1, 20, 20, generator=g)}, 17


# (name, its static model, dynamic axes): the same modules traced with dynamic_axes, as exporters of
# language models do (batch and sequence left symbolic; the input saved is a shorter sequence)
DYNAMIC = {
    "llama_block_dyn": ("llama_block", {"ids": {0: "batch", 1: "seq"}}, lambda g: {"ids": torch.randint(0, 96, (3, 17), generator=g)}),
    "gpt_block_dyn": ("gpt_block", {"ids": {0: "batch", 1: "seq"}}, lambda g: {"ids": torch.randint(0, 80, (1, 13), generator=g)}),
    "mha_enc_dyn": ("mha_enc", {"x": {0: "batch", 1: "seq"}, "valid": {0: "batch"}},
                    lambda g: {"x": torch.rand(3, 7, 6, generator=g), "valid": torch.tensor([7, 2, 5])}),
    "gru_bi_dyn": ("gru_bi", {"x": {0: "batch", 1: "seq"}}, lambda g: {"x": torch.rand(2, 19, 10, generator=g)}),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    out, only = sys.argv[1], set(sys.argv[2:])
    os.makedirs(out, exist_ok=True)
    static = {name: (make, opset) for name, make, _, opset in models()}
    dyn = [(name, static[base][0], lambda f=f: f(torch.Generator().manual_seed(2)), static[base][1], axes)
           for name, (base, axes, f) in DYNAMIC.items()]
    for name, make, inputs, opset, axes in [(*m, None) for m in models()] + dyn:
        if only and name not in only:
            continue
        torch.manual_seed(0)
        m = make().eval()
        ins = inputs()
        with torch.no_grad():
            y = m(**ins)
        ys = y if isinstance(y, tuple) else (y,)
        names = ["output"] if len(ys) == 1 else [f"output{i}" for i in range(len(ys))]
        # outside no_grad: nn.TransformerEncoderLayer's inference fast path has no ONNX export
        try:
            torch.onnx.export(m, tuple(ins.values()), f"{out}/{name}.onnx", opset_version=opset,
                              input_names=list(ins), output_names=names,
                              **({"dynamic_axes": {**axes, **{n: {0: "batch"} for n in names}}} if axes else {}))
        except Exception as e:  # noqa: BLE001 - report and go on to the next model
            print(name, "export failed:", str(e)[:200]); continue
        os.makedirs(f"{out}/{name}", exist_ok=True)
        for k, v in ins.items():
            np.save(f"{out}/{name}/{k}.npy", v.numpy())
        for n, v in zip(names, ys):
            np.save(f"{out}/{name}/out_{n}.npy", v.numpy())
        print(name, os.path.getsize(f"{out}/{name}.onnx"), flush=True)


if __name__ == "__main__":
    main()
