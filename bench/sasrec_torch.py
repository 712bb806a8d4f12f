"""PyTorch reference for `deno task bench`: one SASRec training step (SASRec.pytorch layout: pre-LN attention on
the query, point-wise FFN, timeline mask, BCE with one negative, Adam) at a given shape, timed on CPU.

Usage: python3 sasrec_torch.py --batch 128 --len 50 --dim 64 --heads 2 --blocks 2 --items 1683 --steps 10
Prints one JSON line: {"name": ..., "median_ms": ..., "min_ms": ..., "max_ms": ..., "torch": version, "threads": n}.
Exits with code 3 and a message when torch is not installed.
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
except ImportError:
    print("torch is not installed (Debian: apt-get install python3-torch libopenblas0-openmp)", file=sys.stderr)
    sys.exit(3)


class Block(torch.nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(dim, eps=1e-8)
        self.attn = torch.nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.ln2 = torch.nn.LayerNorm(dim, eps=1e-8)
        self.ff1 = torch.nn.Linear(dim, dim)
        self.ff2 = torch.nn.Linear(dim, dim)
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, x, causal, keep):
        q = self.ln1(x)
        a, _ = self.attn(q, x, x, attn_mask=causal, need_weights=False)
        x = q + a
        y = self.ln2(x)
        x = y + self.drop(self.ff2(self.drop(torch.relu(self.ff1(y)))))
        return x * keep


class SASRec(torch.nn.Module):
    def __init__(self, items, length, dim, heads, blocks, dropout):
        super().__init__()
        self.item = torch.nn.Embedding(items, dim, padding_idx=0)
        self.pos = torch.nn.Embedding(length, dim)
        self.drop = torch.nn.Dropout(dropout)
        self.blocks = torch.nn.ModuleList([Block(dim, heads, dropout) for _ in range(blocks)])
        self.ln = torch.nn.LayerNorm(dim, eps=1e-8)
        self.scale = dim ** 0.5
        self.register_buffer("causal", ~torch.tril(torch.ones(length, length, dtype=torch.bool)))

    def forward(self, seq, pos, neg):
        keep = (seq != 0).unsqueeze(-1).float()
        x = self.item(seq) * self.scale + self.pos.weight.unsqueeze(0)
        x = self.drop(x) * keep
        for block in self.blocks:
            x = block(x, self.causal, keep)
        h = self.ln(x)
        return (h * self.item(pos)).sum(-1), (h * self.item(neg)).sum(-1)


def main():
    p = argparse.ArgumentParser()
    for name, default in [("batch", 128), ("len", 50), ("dim", 64), ("heads", 2), ("blocks", 2), ("items", 1683),
                          ("steps", 10), ("warmup", 3)]:
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--name", default="torch_sasrec_step")
    a = p.parse_args()
    torch.manual_seed(0)
    model = SASRec(a.items, a.len, a.dim, a.heads, a.blocks, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    seq = torch.randint(1, a.items, (a.batch, a.len))
    seq[:, : a.len // 4] = 0
    pos = torch.randint(1, a.items, (a.batch, a.len))
    neg = torch.randint(1, a.items, (a.batch, a.len))
    mask = (pos != 0).float()
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        pl, nl = model(seq, pos, neg)
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(pl, torch.ones_like(pl), weight=mask)
                + torch.nn.functional.binary_cross_entropy_with_logits(nl, torch.zeros_like(nl), weight=mask))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"name": a.name, "median_ms": statistics.median(times), "min_ms": min(times),
                      "max_ms": max(times), "runs": len(times), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
