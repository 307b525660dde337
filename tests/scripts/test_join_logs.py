#!/usr/bin/env python3
"""scripts/join_logs.py: the second run's steps, games and hours follow the first's; mismatched or
empty logs are refused and leave no output. Exit 0 on success, 1 with a message on failure."""
import csv
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
JOIN = os.path.join(HERE, "..", "..", "scripts", "join_logs.py")
COLS = "step,games,wall_s,lr,train_loss,train_excess,val_loss,val_excess,val_legal_top1,grad_norm"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def run(*args):
    return subprocess.run([sys.executable, JOIN, *args], capture_output=True, text=True)


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")


with tempfile.TemporaryDirectory() as d:
    prior, second, out = (os.path.join(d, n) for n in ("a.csv", "b.csv", "out.csv"))
    write(prior, COLS + "\n0,0,0.0,1e-5,,,4.1,2.1,0.14,\n10,1280,100.5,1e-4,3.9,1.9,,,,0.9\n")
    write(second, COLS + "\n0,0,0.0,5e-6,,,2.3,0.2,0.98,\n5,1280,10.0,1e-4,2.2,0.19,2.2,0.19,0.985,0.3\n")
    r = run(prior, second, out)
    check(r.returncode == 0, f"join failed: {r.stderr}")
    rows = list(csv.DictReader(open(out)))
    check(len(rows) == 4, f"4 rows expected, got {len(rows)}")
    check([r["step"] for r in rows] == ["0", "10", "10", "15"], f"steps {[r['step'] for r in rows]}")
    check([r["games"] for r in rows] == ["0", "1280", "1280", "2560"], f"games {[r['games'] for r in rows]}")
    check(abs(float(rows[3]["wall_s"]) - 110.5) < 1e-9, f"wall_s {rows[3]['wall_s']}")
    check(rows[3]["val_legal_top1"] == "0.985" and rows[2]["train_loss"] == "", "other columns kept as they were")

    os.remove(out)
    write(second, "step,games\n1,2\n")
    r = run(prior, second, out)
    check(r.returncode != 0 and "columns" in r.stderr, f"mismatched columns not refused: {r.returncode} {r.stderr}")
    check(not os.path.exists(out), "a refused join left an output file")
    write(second, COLS + "\n")
    r = run(prior, second, out)
    check(r.returncode != 0 and "no rows" in r.stderr, f"empty log not refused: {r.stderr}")
    check(not os.path.exists(out), "a refused join left an output file")
print("join_logs: 3 cases passed")
