#!/usr/bin/env python3
"""Export datasets of a dagalign HDF5 file (trajectories, index, metrics, checkpoint) to CSV or NumPy.

usage: export.py FILE.h5 -d rewards,log_pf[,...] [-f csv|npy] [-o OUT_DIR] [--rows a:b]

One output file per dataset: OUT_DIR/<name>.csv or OUT_DIR/<name>.npy ('/' in names becomes '.').
CSV: one line per row; trailing dimensions are flattened into columns (x[i].ravel()); strings are one
quoted column. --rows a:b selects rows of dimension 0. Needs h5py and numpy.
"""
import argparse
import csv
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-d", "--datasets", required=True, help="comma-separated dataset paths")
    ap.add_argument("-f", "--format", choices=["csv", "npy"], default="csv")
    ap.add_argument("-o", "--output", default=".")
    ap.add_argument("--rows", default="")
    args = ap.parse_args()
    import h5py
    os.makedirs(args.output, exist_ok=True)
    with h5py.File(args.file, "r") as f:
        for name in [d for d in args.datasets.split(",") if d]:
            if name not in f or not isinstance(f[name], h5py.Dataset):
                sys.exit(f"{args.file}: no dataset '{name}'")
            d = f[name]
            if d.shape == ():
                x = d[()]
            else:
                a, _, b = args.rows.partition(":")
                sl = slice(int(a) if a else None, int(b) if b else None) if args.rows else slice(None)
                x = d[sl]
            if d.dtype.kind in "OSU":
                x = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(x)], dtype=object)
            out = os.path.join(args.output, name.replace("/", ".") + "." + args.format)
            if args.format == "npy":
                np.save(out, x, allow_pickle=x.dtype == object)
            else:
                with open(out, "w", newline="") as fo:
                    w = csv.writer(fo)
                    x1 = np.atleast_1d(x)
                    if x1.dtype == object:
                        w.writerow([name])
                        for v in x1:
                            w.writerow([v])
                    else:
                        flat = x1.reshape(len(x1), -1)
                        w.writerow([name] if flat.shape[1] == 1 else [f"{name}[{j}]" for j in range(flat.shape[1])])
                        fmt = (lambda v: repr(float(v))) if flat.dtype.kind == "f" else (lambda v: str(int(v)))
                        for row in flat:
                            w.writerow([fmt(v) for v in row])
            print(f"wrote {out} {tuple(np.shape(x))} {x.dtype}")


if __name__ == "__main__":
    main()
