"""tiny_bert's architecture as ../shared/tools/export_models.py builds it (embeddings, LayerNorm, multi-head
attention, GELU MLP), shared by scripts/grad-vs-torch.py and scripts/export-tiny-bert-dynseq.py."""
import torch


class TinyBert(torch.nn.Module):
    """With slice_positions the position table is cut to the input's length (a dynamic sequence axis)."""
    def __init__(self, vocab=1000, d=128, heads=4, layers=2, seq=64, slice_positions=False):
        super().__init__()
        self.slice_positions = slice_positions
        self.emb = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.randn(1, seq, d) * 0.02)
        layer = torch.nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, activation="gelu", batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, 2)

    def forward(self, ids):
        pos = self.pos[:, : ids.shape[1]] if self.slice_positions else self.pos
        x = self.norm(self.enc(self.emb(ids) + pos))
        return self.head(x[:, 0])
