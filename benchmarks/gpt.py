"""A character-level GPT training step (nanoGPT-style: token + position embeddings, pre-norm blocks of
causal multi-head self-attention with a tril mask and a GELU MLP, AdamW), chainrule vs PyTorch.

    python benchmarks/gpt.py --threads 1 2 --rounds 3 [--cpu]
    python benchmarks/gpt.py --cases step2        # the 2-block model of issue 10's table (issue10.py's gpt row)
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import import_lib, run  # noqa: E402

VOCAB, BLOCK, N_EMBD, N_HEAD, N_LAYER, BATCH = 65, 64, 128, 4, 4, 16
CASES = {"step": (f"train step: {N_LAYER} layers, d={N_EMBD}, {N_HEAD} heads, batch {BATCH} x {BLOCK} tokens", 5),
         "step2": (f"train step: 2 layers (issue 10's row), d={N_EMBD}, {N_HEAD} heads, batch {BATCH} x {BLOCK}", 5)}


def make_step(lib, case):
    import numpy as np
    torch = import_lib(lib)
    n_layer = 2 if case == "step2" else N_LAYER
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(N_EMBD), nn.LayerNorm(N_EMBD)
            self.qkv = nn.Linear(N_EMBD, 3 * N_EMBD)
            self.proj = nn.Linear(N_EMBD, N_EMBD)
            self.mlp = nn.Sequential(nn.Linear(N_EMBD, 4 * N_EMBD), nn.GELU(), nn.Linear(4 * N_EMBD, N_EMBD))
            self.register_buffer("tril", torch.tril(torch.ones(BLOCK, BLOCK)))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(N_EMBD, dim=2)
            q, k, v = (t.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(VOCAB, N_EMBD), nn.Embedding(BLOCK, N_EMBD)
            self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
            self.ln_f, self.head = nn.LayerNorm(N_EMBD), nn.Linear(N_EMBD, VOCAB)

        def forward(self, idx, targets):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            logits = self.head(self.ln_f(self.blocks(x)))
            return F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))

    torch.manual_seed(0)
    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.integers(0, VOCAB, (BATCH, BLOCK)))
    y = torch.tensor(rng.integers(0, VOCAB, (BATCH, BLOCK)))

    def step():
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


if __name__ == "__main__":
    run(__file__, CASES, make_step, title=f"char-level GPT training step ({N_LAYER} layers, d_model {N_EMBD}, "
        f"{N_HEAD} heads, GELU MLP, AdamW), batch {BATCH} x {BLOCK} tokens, float32: chainrule vs PyTorch")
