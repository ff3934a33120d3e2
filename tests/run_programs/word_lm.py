"""The PyTorch examples' word-level language model: an LSTM and a Transformer LM (causal mask from
nn.Transformer.generate_square_subsequent_mask), SGD with clip_grad_norm_, perplexity."""
import math
import sys

import numpy as np
import torch
import torch.nn as nn

words = ("the cat sat on the mat and the dog sat on the log while the bird sang on the tree " * 6).split()
vocab = sorted(set(words))
ids = torch.tensor([vocab.index(w) for w in words], dtype=torch.long)
ntoken, bptt, batch = len(vocab), 8, 4
data = ids[: (len(ids) // batch) * batch].view(batch, -1).t().contiguous()      # (L, batch)


class RNNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, 16)
        self.rnn = nn.LSTM(16, 24, 2)
        self.decoder = nn.Linear(24, ntoken)

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.encoder(x), hidden)
        return self.decoder(out).view(-1, ntoken), hidden

    def init_hidden(self, bsz):
        w = next(self.parameters())
        return (w.new_zeros(2, bsz, 24), w.new_zeros(2, bsz, 24))


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

    def forward(self, x):
        return x + self.pe[: x.size(0), :]


class TransformerModel(nn.Transformer):
    def __init__(self):
        super().__init__(d_model=16, nhead=2, dim_feedforward=32, num_encoder_layers=2, dropout=0.0)
        self.input_emb = nn.Embedding(ntoken, 16)
        self.pos_encoder = PositionalEncoding(16)
        self.decoder = nn.Linear(16, ntoken)

    def forward(self, src):
        mask = nn.Transformer.generate_square_subsequent_mask(len(src))
        src = self.pos_encoder(self.input_emb(src) * math.sqrt(16))
        return self.decoder(self.encoder(src, mask=mask)).view(-1, ntoken)


kind = sys.argv[1] if len(sys.argv) > 1 else "LSTM"
model = RNNModel() if kind == "LSTM" else TransformerModel()
rng = np.random.default_rng(0)
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)))
criterion = nn.NLLLoss() if kind != "LSTM" else nn.CrossEntropyLoss()
lr = 5.0 if kind == "LSTM" else 0.5
for epoch in range(3):
    model.train()
    total = 0.0
    hidden = model.init_hidden(batch) if kind == "LSTM" else None
    for i in range(0, data.size(0) - 1, bptt):
        seq = min(bptt, len(data) - 1 - i)
        x, y = data[i:i + seq], data[i + 1:i + 1 + seq].reshape(-1)
        model.zero_grad()
        if kind == "LSTM":
            hidden = tuple(h.detach() for h in hidden)
            out, hidden = model(x, hidden)
            loss = criterion(out, y)
        else:
            loss = criterion(torch.log_softmax(model(x), dim=-1), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total += loss.item() * seq
    print(f"epoch {epoch}: train ppl {math.exp(total / (len(data) - 1)):.3f}")
print(f"RESULT ppl {math.exp(total / (len(data) - 1)):.6f}")
