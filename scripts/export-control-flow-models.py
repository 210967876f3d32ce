#!/usr/bin/python3
"""Export small models with control flow the way other people export them, for scripts/control-flow-sweep.sh.

Usage: /usr/bin/python3 scripts/export-control-flow-models.py OUT_DIR
Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME/{INPUT}.npy + out_{OUTPUT}.npy (PyTorch's outputs) for:
- vad_o13, vad_o17 (16 kHz input), vad8k_o13, vad8k_o17 (the same model, 8 kHz input): a voice-activity-detector-like model (Silero-VAD style) scripted with torch.jit.script:
  a nested If on the sample-rate input whose branches give different shapes (16 kHz / 8 kHz conv front ends,
  zeros otherwise), an LSTM with state inputs and outputs, a sigmoid head;
- greedy_o13, greedy_o17: a scripted greedy decoder: a Loop appending logits to a list, with a
  data-dependent break (argmax == 3) and a trip count from an input (this input runs all n steps);
- greedybreak_o13, greedybreak_o17: the same with token 3 favoured, so the data stops it before n;
- greedycat_o13, greedycat_o17: a scripted greedy decoder whose tokens are a tensor one longer each step
  (torch.cat in the loop, embedding mean over all tokens so far);
- branchy_o13, branchy_o17: an If on a tensor value (x.sum() > 0) whose branches have different ops
  and read outer-scope values;
- lstm_dyn: a 2-layer LSTM exported by tracing with a dynamic sequence axis (dynamic_axes).
Needs Debian's python3-torch and python3-onnx.
"""
import torch, numpy as np, os, sys, warnings
warnings.filterwarnings("ignore")
torch.manual_seed(0)
if len(sys.argv) != 2:
    sys.exit(__doc__)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

class VadLike(torch.nn.Module):
    """Silero-VAD-like: conv front end, LSTM with state in/out, a scripted branch on sample rate."""
    def __init__(self):
        super().__init__()
        self.conv16 = torch.nn.Conv1d(1, 16, 64, stride=32)
        self.conv8 = torch.nn.Conv1d(1, 16, 32, stride=16)
        self.lstm = torch.nn.LSTM(16, 32, batch_first=True)
        self.head = torch.nn.Linear(32, 1)
    def forward(self, x, sr, h, c):
        if sr == 16000:
            f = self.conv16(x.unsqueeze(1))
        else:
            if sr == 8000:
                f = self.conv8(x.unsqueeze(1))
            else:
                f = torch.zeros(x.shape[0], 16, 1)
        f = torch.relu(f).transpose(1, 2)
        y, (h2, c2) = self.lstm(f, (h, c))
        p = torch.sigmoid(self.head(y[:, -1]))
        return p, h2, c2

class Greedy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(20, 8)
        self.w = torch.nn.Linear(16, 8)
        self.out = torch.nn.Linear(8, 20)
    def forward(self, h, n: int):
        tok = torch.zeros(h.shape[0], dtype=torch.long)
        outs = []
        for i in range(n):
            h = torch.tanh(self.w(torch.cat([self.emb(tok), h], 1)))
            logits = self.out(h)
            tok = torch.argmax(logits, dim=1)
            outs.append(logits)
            if bool((tok == 3).all()):
                break
        return torch.stack(outs, 1), h

class GreedyCat(Greedy):
    """A greedy decoder that keeps its tokens in a tensor, one longer each step (torch.cat in the loop)."""
    def forward(self, h, n: int):
        toks = torch.zeros(h.shape[0], 1, dtype=torch.long)
        for i in range(n):
            e = self.emb(toks).mean(1)
            h = torch.tanh(self.w(torch.cat([e, h], 1)))
            tok = torch.argmax(self.out(h), dim=1)
            toks = torch.cat([toks, tok.unsqueeze(1)], 1)
        return toks, h

class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(6, 6); self.b = torch.nn.Linear(6, 6)
    def forward(self, x, k):
        s = x.sum()
        if bool(s > 0):
            y = torch.relu(self.a(x)) * k
        else:
            y = torch.tanh(self.b(x)) + k
        return y

def greedy_that_breaks(n):
    """A Greedy decoder and an input for which it stops on token 3 after 3 to n - 2 steps."""
    gen = torch.Generator().manual_seed(1)
    for delta in [x * 0.25 for x in range(1, 80)]:
        for _ in range(20):
            m = Greedy().eval()
            with torch.no_grad():
                m.out.bias[3] += delta
                h = torch.randn(2, 8, generator=gen)
                steps = m(h, n)[0].shape[1]
            if 3 <= steps <= n - 2:
                return m, h
    sys.exit("no breaking greedy decoder found")

def save(name, model, args, names, onames, opset, dyn=None):
    path = os.path.join(out, f"{name}.onnx")
    torch.onnx.export(model, args, path, opset_version=opset, input_names=names, output_names=onames, dynamic_axes=dyn)
    with torch.no_grad():
        ys = model(*args)
    if not isinstance(ys, tuple): ys = (ys,)
    os.makedirs(os.path.join(out, name), exist_ok=True)
    for n, a in zip(names, args):
        np.save(os.path.join(out, name, f"{n}.npy"), np.asarray(a.numpy() if torch.is_tensor(a) else a))
    for n, y in zip(onames, ys):
        np.save(os.path.join(out, name, f"out_{n}.npy"), y.detach().numpy())
    print(name, "ok")

for opset in (13, 17):
    m = torch.jit.script(VadLike().eval())
    x = torch.randn(1, 512); h = torch.zeros(1, 1, 32); c = torch.zeros(1, 1, 32)
    save(f"vad_o{opset}", m, (x, torch.tensor(16000), h, c), ["x", "sr", "h", "c"], ["p", "hn", "cn"], opset)
    # the same model, fed 8 kHz audio: the other branch of the If
    save(f"vad8k_o{opset}", m, (x, torch.tensor(8000), h, c), ["x", "sr", "h", "c"], ["p", "hn", "cn"], opset)
    g = torch.jit.script(Greedy().eval())
    save(f"greedy_o{opset}", g, (torch.randn(2, 8), torch.tensor(6)), ["h", "n"], ["logits", "hn"], opset)
    # the same decoder with token 3 favoured, so that it breaks on the data before n (found by search)
    gb, hb = greedy_that_breaks(12)
    save(f"greedybreak_o{opset}", torch.jit.script(gb), (hb, torch.tensor(12)), ["h", "n"], ["logits", "hn"], opset)
    gc = torch.jit.script(GreedyCat().eval())
    save(f"greedycat_o{opset}", gc, (torch.randn(2, 8), torch.tensor(5)), ["h", "n"], ["toks", "hn"], opset)
    b = torch.jit.script(Branchy().eval())
    save(f"branchy_o{opset}", b, (torch.randn(3, 6), torch.tensor(2.0)), ["x", "k"], ["y"], opset)

class Seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(10, 16, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(16, 4)
    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y)
save("lstm_dyn", Seq().eval(), (torch.randn(1, 25, 10),), ["x"], ["y"], 17, {"x": {1: "T"}, "y": {1: "T"}})
