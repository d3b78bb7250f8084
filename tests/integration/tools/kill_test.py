#!/usr/bin/python3
"""SIGKILL test of the trajectory store: io_kill_writer appends batches forever and prints the row count
after each append() returned; we kill it at random moments (>= 10 trials, alternating plain float32 and
deflate+float16 files) and check that every file opens with h5py and h5dump, and holds every row the
writer reported, with the right values; finally our own reader opens them all.
usage: kill_test.py IO_KILL_WRITER WORK_DIR [TRIALS] [SEED]"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np


def check_file(path, reported, float16):
    import h5py
    with h5py.File(path, "r") as f:
        n = int(f.attrs["n_trajectories"])
        assert n >= reported, f"{path}: n_trajectories {n} < reported {reported}"
        if reported == 0:
            return n
        T = int(f.attrs["steps"])
        for name in ("latents", "timesteps", "log_pf", "log_pb", "rewards", "seed", "policy_version", "images", "prompts"):
            assert f[name].shape[0] >= reported, f"{path}: {name} holds {f[name].shape[0]} < {reported} rows"
        g = np.arange(reported, dtype=np.float64)
        np.testing.assert_array_equal(f["rewards"][:reported], g)
        np.testing.assert_array_equal(f["seed"][:reported], g.astype(np.int64))
        np.testing.assert_array_equal(f["log_pf"][:reported], np.repeat(g[:, None], T, 1))
        pattern = (np.arange((T + 1) * 4 * 16 * 16) % 7).reshape(T + 1, 4, 16, 16) / 8
        dtype = np.float16 if float16 else np.float32
        assert f["latents"].dtype == dtype
        # Expected values rounded to the stored dtype by numpy (round to nearest even, like torch).
        want = (g[:, None, None, None, None] + pattern[None]).astype(np.float32).astype(dtype)
        np.testing.assert_array_equal(f["latents"][:reported], want)
        np.testing.assert_array_equal(f["images"][:reported, 0, 0, 0], (g.astype(np.int64) % 256))
        assert f["prompts"][reported - 1].decode() == f"row {reported - 1}"
    return n


def main():
    writer, work = sys.argv[1], sys.argv[2]
    trials = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else int(time.time())
    rng = random.Random(seed)
    print(f"seed {seed}, {trials} trials")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    files, t0 = [], time.time()
    for k in range(trials):
        path = os.path.join(work, f"trial-{k:02d}.h5")
        deflate, float16 = (0, 0) if k % 2 == 0 else (4, 1)
        p = subprocess.Popen([writer, "write", path, str(deflate), str(float16)], stdout=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        assert first == "created\n", f"writer said {first!r}"
        delay = rng.uniform(0.0, 0.4)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        rest = p.stdout.read()
        p.wait()
        counts = [int(l) for l in rest.splitlines() if l.strip().isdigit()]
        reported = counts[-1] if counts else 0
        dump = subprocess.run(["h5dump", "-H", path], capture_output=True, text=True)
        assert dump.returncode == 0, f"h5dump -H {path} failed:\n{dump.stderr}"
        n = check_file(path, reported, float16)
        print(f"trial {k}: killed after {delay:.3f} s, deflate {deflate}, float16 {float16}: "
              f"reported {reported} rows, file holds {n}")
        files.append((path, reported))
    out = subprocess.run([writer, "read"] + [f for f, _ in files], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {l.split()[0]: int(l.split()[1]) for l in out.stdout.splitlines()}
    for f, reported in files:
        assert rows[f] >= reported, f"TrajectoryReader sees {rows[f]} rows in {f}, writer reported {reported}"
    print(f"ok: {trials} trials in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
