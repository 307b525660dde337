#!/usr/bin/python3
"""PyTorch baseline for bench/bench_model.cpp: the same Othello-GPT (minGPT / TransformerLens
layout: pre-LN, causal attention, exact GELU, untied unembed), batch 256 x 59, on this CPU.

Measures a training step (forward + backward, no optimizer) and a forward (no grad), in bf16
autocast (the docs' setting) or f32, with torch.set_num_threads(2).
Run with Debian's python (torch 1.13):  /usr/bin/python3 bench/pytorch_train.py --preset 8x512
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {"8x512": (8, 512, 8, 2048), "8x256": (8, 256, 8, 1024), "4x128": (4, 128, 4, 512)}


class Block(nn.Module):
    def __init__(self, d, h, dm, T):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc_in, self.fc_out = nn.Linear(d, dm), nn.Linear(dm, d)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x):
        B, T, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (t.view(B, T, self.h, d // self.h).transpose(1, 2) for t in (q, k, v))
        s = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.h)
        s = s.masked_fill(~self.mask[:T, :T], float("-inf"))
        z = (F.softmax(s.float(), dim=-1).to(v.dtype) @ v).transpose(1, 2).reshape(B, T, d)
        x = x + self.o(z)
        return x + self.fc_out(F.gelu(self.fc_in(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, L, d, h, dm, T=59, V=61):
        super().__init__()
        self.W_E, self.W_pos = nn.Embedding(V, d), nn.Parameter(torch.randn(T, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, h, dm, T) for _ in range(L))
        self.ln_f, self.unembed = nn.LayerNorm(d), nn.Linear(d, V)

    def forward(self, tok):
        x = self.W_E(tok) + self.W_pos[: tok.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.unembed(self.ln_f(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="8x512", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    L, d, h, dm = PRESETS[a.preset]
    model = GPT(L, d, h, dm)
    tok = torch.randint(1, 61, (a.batch, 59))
    tgt = torch.randint(1, 61, (a.batch, 59))
    ac = dict(device_type="cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16")

    def train_step():
        with torch.autocast(**ac):
            logits = model(tok)
        loss = F.cross_entropy(logits.float().view(-1, 61), tgt.view(-1), ignore_index=0)
        loss.backward()

    def forward():
        with torch.no_grad(), torch.autocast(**ac):
            model(tok)

    for name, fn in (("train", train_step), ("forward", forward)):
        fn()  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(a.steps):
            fn()
        dt = (time.perf_counter() - t0) / a.steps
        cpu = (time.process_time() - c0) / a.steps
        # games/cpu-s: with one thread, the per-core rate even on a busy machine
        print(f"pytorch {torch.__version__} {a.preset} {a.dtype} {name} batch {a.batch}: "
              f"{dt:.3f} s/step, {a.batch / dt:.1f} games/s, {a.batch * 59 / dt:.0f} tokens/s, "
              f"{a.batch / cpu:.1f} games/cpu-s (threads {torch.get_num_threads()})", flush=True)


if __name__ == "__main__":
    main()
