#!/usr/bin/python3
"""Builds the PyTorch reference fixture in tests/fixtures/reference/ (run by hand; CI never needs torch).

    /usr/bin/python3 scripts/make_reference.py   # Debian python3-torch (bash scripts/setup.sh --with-torch)

A randomly initialised Othello-GPT in TransformerLens layout (2 layers, d_model 64, 4 heads x 16,
d_mlp 256, d_vocab 61, n_ctx 59, LayerNorm with random non-trivial weights, exact-erf GELU) and an
INDEPENDENT plain-PyTorch forward written below (TransformerLens is not needed). The reference is
computed in float64 from the exact float32 (or bf16) weights, so the only error a C++ f32 forward
should show is its own float32 rounding.

Outputs (all committed; ~2.6 MB in total):
  model.pth              torch.save of the TL state dict (f32) plus the buffers TL state dicts carry
                         (blocks.{l}.attn.mask bool [59,59], blocks.{l}.attn.IGNORE scalar). Some
                         tensors are deliberately saved as views to exercise the importer: W_U is a
                         transpose (strides [1,64]) and b_Q/b_K/b_V of each block share one storage
                         at offsets 0/64/128.
  model.safetensors      the same state dict (f32, buffers as BOOL/F32), written by hand below.
  model_lnpre.safetensors  LayerNorm folded into the next weights (TL's fold_ln + LNPre: no ln
                         weights), weights rounded to bf16 and stored as BF16.
  model_lnpre.pth        the same folded weights: matrices as float16, vectors/embeddings as
                         bfloat16 (both exact, see round_to_bf16_f16), so the importer meets both.
  reference.safetensors  f32 outputs; reference.json describes them (names, shapes, meaning).
"""
import collections
import json
import math
import os
import random
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "reference")
CFG = dict(n_layers=2, d_model=64, n_heads=4, d_head=16, d_mlp=256, d_vocab=61, n_ctx=59)
EPS = 1e-5  # TransformerLens LayerNorm eps
EDIT_HOOK, EDIT_POS = "blocks.0.hook_resid_post", 40  # mid-game, so later positions feel it too
CACHE = ["blocks.0.ln1.hook_scale", "blocks.0.attn.hook_z", "blocks.0.hook_resid_post",
         "blocks.1.attn.hook_pattern", "blocks.1.mlp.hook_post",
         "ln_final.hook_normalized"]


# ---- Othello: random legal games (squares row*8+col, a1 = 0; black d5 e4, white d4 e5) ----------
DIRS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def flips(board, me, sq):
    if board[sq] != 0:
        return []
    r0, c0 = divmod(sq, 8)
    out = []
    for dr, dc in DIRS:
        r, c, run = r0 + dr, c0 + dc, []
        while 0 <= r < 8 and 0 <= c < 8 and board[r * 8 + c] == -me:
            run.append(r * 8 + c)
            r, c = r + dr, c + dc
        if run and 0 <= r < 8 and 0 <= c < 8 and board[r * 8 + c] == me:
            out += run
    return out


def random_game(rng):
    board = [0] * 64
    board[35] = board[28] = 1   # black
    board[27] = board[36] = -1  # white
    me, moves = 1, []
    while True:
        legal = [s for s in range(64) if flips(board, me, s)]
        if not legal:
            me = -me
            legal = [s for s in range(64) if flips(board, me, s)]
            if not legal:
                return moves
        sq = rng.choice(legal)
        for f in flips(board, me, sq):
            board[f] = me
        board[sq] = me
        moves.append(sq)
        me = -me


SQ_TO_TOK = {}
for s in range(64):
    if s not in (27, 28, 35, 36):
        SQ_TO_TOK[s] = len(SQ_TO_TOK) + 1


def game_to_tokens(moves):
    """data/game.hpp's rule: tokens[t] = move t (t < 59), targets[t] = move t+1; 0 = padding."""
    T = CFG["n_ctx"]
    tok = [SQ_TO_TOK[m] if t < len(moves) else 0 for t, m in zip(range(T), moves + [0] * 60)]
    tgt = [SQ_TO_TOK[moves[t + 1]] if t + 1 < len(moves) else 0 for t in range(T)]
    return tok, tgt


# ---- parameters (TransformerLens names and shapes) ----------------------------------------------
def make_params(gen):
    d, h, dh, dm, V, T = (CFG[k] for k in ("d_model", "n_heads", "d_head", "d_mlp", "d_vocab", "n_ctx"))
    rn = lambda *s, std: torch.randn(*s, generator=gen, dtype=torch.float32) * std
    p = collections.OrderedDict()
    p["embed.W_E"] = rn(V, d, std=0.8)
    p["pos_embed.W_pos"] = rn(T, d, std=0.3)
    for l in range(CFG["n_layers"]):
        b = f"blocks.{l}."
        p[b + "ln1.w"] = 1 + rn(d, std=0.3)
        p[b + "ln1.b"] = rn(d, std=0.2)
        for n in "QKV":  # std 0.35: attention patterns far from uniform
            p[b + f"attn.W_{n}"] = rn(h, d, dh, std=0.35)
        for n in "QKV":
            p[b + f"attn.b_{n}"] = rn(h, dh, std=0.2)
        p[b + "attn.W_O"] = rn(h, dh, d, std=0.15)
        p[b + "attn.b_O"] = rn(d, std=0.1)
        p[b + "ln2.w"] = 1 + rn(d, std=0.3)
        p[b + "ln2.b"] = rn(d, std=0.2)
        p[b + "mlp.W_in"] = rn(d, dm, std=0.2)
        p[b + "mlp.b_in"] = rn(dm, std=0.3)
        p[b + "mlp.W_out"] = rn(dm, d, std=0.08)
        p[b + "mlp.b_out"] = rn(d, std=0.1)
    p["ln_final.w"] = 1 + rn(d, std=0.3)
    p["ln_final.b"] = rn(d, std=0.2)
    p["unembed.W_U"] = rn(d, V, std=0.15)
    p["unembed.b_U"] = rn(V, std=0.2)
    return p


def fold_ln(p):
    """TL's fold_layer_norm (with weight centering): each LN's w scales the rows of the weights it
    feeds, its b moves into their biases; the LN becomes LNPre (centre and scale only)."""
    q = collections.OrderedDict()
    p64 = {k: v.double() for k, v in p.items()}

    def fold(w, b, W, bias, in_dim):  # W has the d_model axis at in_dim
        shape = [1] * W.dim()
        shape[in_dim] = -1
        new_b = bias + (W * b.view(shape)).sum(in_dim)
        new_W = W * w.view(shape)
        new_W = new_W - new_W.mean(in_dim, keepdim=True)
        return new_W, new_b

    q["embed.W_E"] = p64["embed.W_E"]
    q["pos_embed.W_pos"] = p64["pos_embed.W_pos"]
    for l in range(CFG["n_layers"]):
        b = f"blocks.{l}."
        folded = {}
        for n in "QKV":
            folded[n] = fold(p64[b + "ln1.w"], p64[b + "ln1.b"], p64[b + f"attn.W_{n}"],
                             p64[b + f"attn.b_{n}"], 1)
        for n in "QKV":
            q[b + f"attn.W_{n}"] = folded[n][0]
        for n in "QKV":
            q[b + f"attn.b_{n}"] = folded[n][1]
        q[b + "attn.W_O"] = p64[b + "attn.W_O"]
        q[b + "attn.b_O"] = p64[b + "attn.b_O"]
        q[b + "mlp.W_in"], q[b + "mlp.b_in"] = fold(p64[b + "ln2.w"], p64[b + "ln2.b"],
                                                   p64[b + "mlp.W_in"], p64[b + "mlp.b_in"], 0)
        q[b + "mlp.W_out"] = p64[b + "mlp.W_out"]
        q[b + "mlp.b_out"] = p64[b + "mlp.b_out"]
    q["unembed.W_U"], q["unembed.b_U"] = fold(p64["ln_final.w"], p64["ln_final.b"],
                                              p64["unembed.W_U"], p64["unembed.b_U"], 0)
    return q


def round_to_bf16_f16(x):
    """Rounds to bf16 (nearest even), then zeroes values f16 cannot hold exactly (|x| < 2^-14 would
    be subnormal in f16), so the result is exact in BOTH bf16 and f16 and both files hold the
    same numbers."""
    r = x.float().to(torch.bfloat16).float()
    r[r.abs() < 2.0 ** -14] = 0.0
    assert torch.equal(r.half().float(), r) and torch.equal(r.bfloat16().float(), r)
    return r


# ---- the independent forward (float64) ----------------------------------------------------------
def layer_norm(x, w, b, name, hooks):
    x = x - x.mean(-1, keepdim=True)
    scale = (x.pow(2).mean(-1, keepdim=True) + EPS).sqrt()
    hooks(name + ".hook_scale", scale)
    x = x / scale
    if w is not None:
        x = x * w + b
    return hooks(name + ".hook_normalized", x)


def forward(p, tokens, edit=None, cache=None):
    """tokens [B,T] long -> logits [B,T,V]. `edit` maps a hook name to fn(act) -> act."""
    def hooks(name, x):
        if edit and name in edit:
            x = edit[name](x)
        if cache is not None and name in CACHE:
            cache[name] = x
        return x

    B, T = tokens.shape
    h, dh = CFG["n_heads"], CFG["d_head"]
    has_ln = "ln_final.w" in p
    embed = hooks("hook_embed", p["embed.W_E"][tokens])
    pos = hooks("hook_pos_embed", p["pos_embed.W_pos"][:T].unsqueeze(0).expand(B, T, -1))
    resid = embed + pos
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(CFG["n_layers"]):
        b = f"blocks.{l}."
        resid = hooks(b + "hook_resid_pre", resid)
        x = layer_norm(resid, p.get(b + "ln1.w"), p.get(b + "ln1.b"), b + "ln1", hooks)
        q = hooks(b + "attn.hook_q", torch.einsum("btd,hde->bthe", x, p[b + "attn.W_Q"]) + p[b + "attn.b_Q"])
        k = hooks(b + "attn.hook_k", torch.einsum("btd,hde->bthe", x, p[b + "attn.W_K"]) + p[b + "attn.b_K"])
        v = hooks(b + "attn.hook_v", torch.einsum("btd,hde->bthe", x, p[b + "attn.W_V"]) + p[b + "attn.b_V"])
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(dh)
        scores = hooks(b + "attn.hook_attn_scores", scores.masked_fill(~causal, float("-inf")))
        pattern = hooks(b + "attn.hook_pattern", torch.softmax(scores, dim=-1))
        z = hooks(b + "attn.hook_z", torch.einsum("bhqk,bkhe->bqhe", pattern, v))
        attn_out = hooks(b + "hook_attn_out", torch.einsum("bqhe,hed->bqd", z, p[b + "attn.W_O"]) + p[b + "attn.b_O"])
        resid = hooks(b + "hook_resid_mid", resid + attn_out)
        x = layer_norm(resid, p.get(b + "ln2.w"), p.get(b + "ln2.b"), b + "ln2", hooks)
        pre = hooks(b + "mlp.hook_pre", x @ p[b + "mlp.W_in"] + p[b + "mlp.b_in"])
        post = hooks(b + "mlp.hook_post", 0.5 * pre * (1 + torch.erf(pre / math.sqrt(2.0))))
        mlp_out = hooks(b + "hook_mlp_out", post @ p[b + "mlp.W_out"] + p[b + "mlp.b_out"])
        resid = hooks(b + "hook_resid_post", resid + mlp_out)
    x = layer_norm(resid, p.get("ln_final.w"), p.get("ln_final.b"), "ln_final", hooks)
    logits = x @ p["unembed.W_U"]
    if "unembed.b_U" in p:
        logits = logits + p["unembed.b_U"]
    assert has_ln == ("blocks.0.ln1.w" in p)
    return logits


def mean_ce(logits, targets):
    """Mean cross-entropy over positions whose target is not padding (0)."""
    keep = targets != 0
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return nll[keep].mean()


# ---- writers ------------------------------------------------------------------------------------
ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.bool: "BOOL", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors format: u64 LE header length, JSON header {name: {dtype, shape,
    data_offsets [begin,end) relative to the data area}, "__metadata__": {str: str}}, padded with
    spaces to a multiple of 8, then the raw little-endian data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for raw in blobs:
            f.write(raw)


def with_buffers(sd):
    """Adds the non-parameter buffers a TransformerLens state dict carries, after each block."""
    out = collections.OrderedDict()
    T = CFG["n_ctx"]
    for k, v in sd.items():
        out[k] = v
        if k.endswith("mlp.b_out"):
            b = k[: -len("mlp.b_out")]
            out[b + "attn.mask"] = torch.tril(torch.ones(T, T, dtype=torch.bool))
            out[b + "attn.IGNORE"] = torch.tensor(float("-inf"))
    return out


def pth_with_views(sd):
    """The same values, but W_U saved as a transpose and b_Q/b_K/b_V as slices of one storage."""
    out = collections.OrderedDict()
    for k, v in sd.items():
        out[k] = v
    out["unembed.W_U"] = sd["unembed.W_U"].t().contiguous().t()
    assert not out["unembed.W_U"].is_contiguous()
    for l in range(CFG["n_layers"]):
        b = f"blocks.{l}.attn."
        shared = torch.cat([sd[b + "b_Q"], sd[b + "b_K"], sd[b + "b_V"]], 0)  # [3h, dh]
        h = CFG["n_heads"]
        out[b + "b_Q"], out[b + "b_K"], out[b + "b_V"] = shared[:h], shared[h:2 * h], shared[2 * h:]
    return out


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    params32 = make_params(gen)

    # four real random games; the fourth is cut at 37 moves so the sequence ends in padding
    rng = random.Random(7)
    games = [random_game(rng) for _ in range(4)]
    games[3] = games[3][:37]
    toks, tgts = zip(*(game_to_tokens(g) for g in games))
    tokens = torch.tensor(toks, dtype=torch.long)
    targets = torch.tensor(tgts, dtype=torch.long)

    # reference forward/backward in float64 from the exact float32 weights
    p64 = {k: v.double().requires_grad_(True) for k, v in params32.items()}
    cache = {}
    logits = forward(p64, tokens, cache=cache)
    loss = mean_ce(logits, targets)
    loss.backward()
    d = CFG["d_model"]
    edit_vec = torch.tensor([0.5 * math.sin(1.0 + 0.7 * i) for i in range(d)], dtype=torch.float32)

    def add_vec(x):
        x = x.clone()
        x[:, EDIT_POS, :] += edit_vec.double()
        return x

    with torch.no_grad():
        p_nograd = {k: v.detach() for k, v in p64.items()}
        logits_edit = forward(p_nograd, tokens, edit={EDIT_HOOK: add_vec})
        folded = {k: round_to_bf16_f16(v) for k, v in fold_ln(params32).items()}
        logits_fold_exact = forward({k: v.double() for k, v in fold_ln(params32).items()}, tokens)
        fold_err = (logits_fold_exact - logits).abs().max().item()
        assert fold_err < 1e-9, f"folding changed the logits by {fold_err}"
        logits_lnpre = forward({k: v.double() for k, v in folded.items()}, tokens)
        loss_lnpre = mean_ce(logits_lnpre, targets)

    os.makedirs(OUT, exist_ok=True)
    # the model files
    sd = with_buffers(params32)
    torch.save(pth_with_views(sd), os.path.join(OUT, "model.pth"))
    write_safetensors(os.path.join(OUT, "model.safetensors"), sd, {"format": "pt"})
    write_safetensors(os.path.join(OUT, "model_lnpre.safetensors"),
                      collections.OrderedDict((k, v.bfloat16()) for k, v in folded.items()), {"format": "pt"})
    mixed = collections.OrderedDict(
        (k, v.half() if v.dim() >= 2 and not k.startswith(("embed", "pos_embed")) else v.bfloat16())
        for k, v in folded.items())
    torch.save(with_buffers(mixed), os.path.join(OUT, "model_lnpre.pth"))

    # the reference outputs
    ref = collections.OrderedDict()
    ref["tokens"] = tokens.float()
    ref["targets"] = targets.float()
    ref["logits"] = logits.detach().float()
    ref["loss"] = loss.detach().float().reshape(1)
    for name in CACHE:
        ref["act." + name] = cache[name].detach().float()
    for k, v in p64.items():
        ref["grad." + k] = v.grad.float()
    ref["edit.vector"] = edit_vec
    ref["edit.logits"] = logits_edit.float()
    ref["lnpre.logits"] = logits_lnpre.float()
    ref["lnpre.loss"] = loss_lnpre.float().reshape(1)
    write_safetensors(os.path.join(OUT, "reference.safetensors"), ref)

    desc = {
        "generator": "scripts/make_reference.py (torch %s, float64 reference from the stored weights)" % torch.__version__,
        "config": dict(CFG, has_ln_weights=True, has_unembed_bias=True, act_fn="gelu (erf)", ln_eps=EPS),
        "files": {
            "model.pth": "TL state dict, f32, plus attn.mask/attn.IGNORE buffers; W_U saved transposed, b_Q/b_K/b_V share a storage",
            "model.safetensors": "the same state dict, f32 (buffers as BOOL / F32)",
            "model_lnpre.safetensors": "LN folded (LNPre, no ln weights), bf16 values",
            "model_lnpre.pth": "the same folded values: matrices float16, vectors and embeddings bfloat16, plus buffers",
        },
        "tensors": {
            "tokens": "[B,T] token ids as floats (0 = padding)",
            "targets": "[B,T] next-token ids as floats (0 = ignored by the loss)",
            "logits": "[B,T,V] model.pth / model.safetensors logits",
            "loss": "[1] mean cross-entropy over targets != 0",
            "act.<hook>": "cached activation at <hook>, TransformerLens layout (see model/gpt.hpp)",
            "grad.<param>": "d loss / d param, for every parameter, TL shape",
            "edit.vector": "[d_model] added to %s at position %d of every game" % (EDIT_HOOK, EDIT_POS),
            "edit.logits": "[B,T,V] logits after that edit",
            "lnpre.logits": "[B,T,V] logits of the folded model (from its exact bf16 weights)",
            "lnpre.loss": "[1] its loss",
        },
        "edit": {"hook": EDIT_HOOK, "position": EDIT_POS},
        "games": [" ".join("abcdefgh"[s % 8] + str(s // 8 + 1) for s in g) for g in games],
        "loss": loss.item(),
        "lnpre_loss": loss_lnpre.item(),
        "lnpre_vs_f32_max_abs_logit_diff": (logits_lnpre - logits).abs().max().item(),
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(desc, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("loss %.6f  lnpre loss %.6f  fixture %.2f MB in %s" % (loss.item(), loss_lnpre.item(), total / 1e6, OUT))


if __name__ == "__main__":
    main()
