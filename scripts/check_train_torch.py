#!/usr/bin/python3
"""Independent check of `othello-gpt train` against PyTorch (run by hand; CI never needs torch):
    /usr/bin/python3 scripts/check_train_torch.py [path/to/othello-gpt] [--clip 0.3]
Trains 2x64 (f32) for 6 steps of 8 games from a generated game file with our CLI, saving the
initial weights first; then replays the same 6 steps in float64 PyTorch from the same initial
weights and games: the forward of scripts/make_reference.py (independent of the C++ one),
torch.optim.AdamW (decay on matrices and embeddings only), global-norm clipping, and the
warmup + cosine schedule re-derived here. Prints the per-step loss, gradient norm and lr of both,
and the largest weight difference at the end, relative to how far the weights moved. Exits 1 if
the losses differ by more than 1e-4 or the weights by more than 5% of their movement.
"""
import json, math, os, shutil, struct, subprocess, sys, tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_reference as R  # noqa: E402  (the independent float64 forward and loss)

torch.set_default_dtype(torch.float64)
B, STEPS, LR, WARMUP, FLOOR, WD = 8, 6, 1e-2, 2, 0.1, 0.1


def read_checkpoint(path):
    """model/checkpoint.hpp's layout: magic, u32 version, Config (7 i32 + 2 bools), u8 dtype,
    u64 count, per tensor (u64 name length, name, u32 rank, i64 dims, f32 data), extra, crc."""
    b = open(path, "rb").read()
    assert b[:8] == b"OGPTCKPT"
    at = 12 + 7 * 4 + 2
    assert b[at] == 0, "expected f32 weights"
    count = struct.unpack_from("<Q", b, at + 1)[0]
    at += 9
    out = {}
    for _ in range(count):
        n = struct.unpack_from("<Q", b, at)[0]
        name = b[at + 8:at + 8 + n].decode()
        at += 8 + n
        rank = struct.unpack_from("<I", b, at)[0]
        shape = struct.unpack_from("<%dq" % rank, b, at + 4)
        at += 4 + 8 * rank
        numel = int(np.prod(shape))
        out[name] = torch.from_numpy(np.frombuffer(b, np.float32, numel, at).copy()).reshape(shape).double()
        at += 4 * numel
    return out


def read_games(path):
    """data/game_file.hpp: 48-byte header, then chunks (u32 count, u32 bytes, u32 crc, payload of
    one length byte + that many squares per game)."""
    b = open(path, "rb").read()
    total = struct.unpack_from("<Q", b, 16)[0]
    at, games = 48, []
    while len(games) < total:
        count, nbytes, _ = struct.unpack_from("<III", b, at)
        at += 12
        end = at + nbytes
        for _ in range(count):
            n = b[at]
            games.append(list(b[at + 1:at + 1 + n]))
            at += 1 + n
        assert at == end
    return games


def lr_at(t):
    if t < WARMUP:
        return LR * (t + 1) / WARMUP
    prog = min(max((t - WARMUP) / (STEPS - WARMUP - 1), 0.0), 1.0)
    return FLOOR * LR + 0.5 * (LR - FLOOR * LR) * (1 + math.cos(math.pi * prog))


def main():
    cli = next((a for a in sys.argv[1:] if not a.startswith("--") and "/" in a), "build/othello-gpt")
    clip = float(sys.argv[sys.argv.index("--clip") + 1]) if "--clip" in sys.argv else 1.0
    tmp = tempfile.mkdtemp(prefix="ogpt_torch_check_")
    try:
        games_file, run = os.path.join(tmp, "g.games"), os.path.join(tmp, "run")
        q = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([cli, "generate", "-n", str(B * STEPS), "-s", "3", "-o", games_file, "-q"], **q)
        common = ["--threads", "1", "--out", run]
        subprocess.run([cli, "train", "--preset", "2x64", "--batch", str(B), "--games", str(B * STEPS), "--f32",
                        "--games-file", games_file, "--lr", str(LR), "--warmup", str(WARMUP), "--wd", str(WD),
                        "--clip", str(clip), "--val-games", "8", "--stop-after-minutes", "1e-9"] + common, **q)
        init = read_checkpoint(os.path.join(run, "latest.ckpt"))
        subprocess.run([cli, "train", "--resume", "--log-every", "1"] + common, **q)
        ours = read_checkpoint(os.path.join(run, "latest.ckpt"))
        rows = [l.split(",") for l in open(os.path.join(run, "log.csv")).read().split("\n")[2:] if l]
        games = read_games(games_file)
    finally:
        shutil.rmtree(tmp)

    p = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    decay = [v for k, v in p.items() if v.dim() >= 2]
    other = [v for k, v in p.items() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": other, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95), eps=1e-8)
    worst_loss = 0.0
    print("step  lr (ours / torch)     loss (ours / torch)     grad norm (ours / torch)")
    for t in range(STEPS):
        tok, tgt = zip(*(R.game_to_tokens(g) for g in games[t * B:(t + 1) * B]))
        tok, tgt = torch.tensor(tok), torch.tensor(tgt)
        opt.zero_grad()
        loss = R.mean_ce(R.forward(p, tok), tgt)
        loss.backward()
        norm = math.sqrt(sum(float((v.grad ** 2).sum()) for v in p.values()))
        if clip > 0 and norm > clip:
            for v in p.values():
                v.grad.mul_(clip / norm)
        for g in opt.param_groups:
            g["lr"] = lr_at(t)
        opt.step()
        r = rows[t]
        worst_loss = max(worst_loss, abs(float(r[4]) - loss.item()))
        print(f"{t + 1:4d}  {float(r[3]):.5g} / {lr_at(t):.5g}    {float(r[4]):.6f} / {loss.item():.6f}"
              f"    {float(r[9]):.6f} / {norm:.6f}")
    diff = max(float((ours[k] - p[k].detach()).abs().max()) for k in p)
    moved = max(float((p[k].detach() - init[k]).abs().max()) for k in p)
    print(f"max |loss difference| {worst_loss:.2e}; max |weights ours - torch| {diff:.3g} "
          f"(the weights moved up to {moved:.3g}: {100 * diff / moved:.2f}%)")
    ok = worst_loss < 1e-4 and diff < 0.05 * moved
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
