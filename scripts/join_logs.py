#!/usr/bin/env python3
"""Join training logs: PRIOR then RUN, RUN's step, games and wall_s offset by PRIOR's last row.

For a run started with `train --init-from` on the weights PRIOR ended with, so one log.csv (and
one curve) tells the model's whole history. usage: join_logs.py PRIOR.csv RUN.csv OUT.csv
Writes OUT through a temporary file; refuses logs whose columns differ or that have no rows.
"""
import csv
import os
import sys


def read(path):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        rows = list(r)
        if not rows:
            sys.exit(f"join_logs: {path}: no rows")
        return r.fieldnames, rows


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-2].strip())
    prior_path, run_path, out_path = sys.argv[1:]
    cols, prior = read(prior_path)
    run_cols, run = read(run_path)
    if cols != run_cols:
        sys.exit(f"join_logs: {run_path}: columns {run_cols} differ from {prior_path}'s {cols}")
    last = prior[-1]
    offset = {"step": int(last["step"]), "games": int(last["games"]), "wall_s": float(last["wall_s"])}
    tmp = out_path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(prior)
        for row in run:
            row = dict(row)
            row["step"] = str(int(row["step"]) + offset["step"])
            row["games"] = str(int(row["games"]) + offset["games"])
            row["wall_s"] = f'{float(row["wall_s"]) + offset["wall_s"]:.1f}'
            w.writerow(row)
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
