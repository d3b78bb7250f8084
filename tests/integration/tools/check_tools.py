#!/usr/bin/python3
"""Checks of the files io_make_run wrote, read independently with h5py/h5dump, and of the tools/h5
scripts and `dagalign inspect` run on them. usage: check_tools.py CASE RUN_DIR [DAGALIGN_BINARY]

CASE: files | plot | grid | export | inspect. Exit 0 on success; failures raise with a message."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "..", "tools", "h5")
PY = sys.executable


def run(cmd, ok=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p


def check_png(path):
    assert os.path.getsize(path) > 1000, f"{path}: only {os.path.getsize(path)} bytes"
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    from PIL import Image
    with Image.open(path) as im:
        im.verify()
        assert im.size[0] > 100 and im.size[1] > 100, f"{path}: size {im.size}"


def case_files(run_dir, expect):
    import h5py
    files = sorted(glob.glob(os.path.join(run_dir, "**", "*.h5"), recursive=True))
    assert len(files) == 9, files  # 4 segments, index, images, metrics, checkpoint + latest.h5 symlink to it
    assert os.readlink(os.path.join(run_dir, "checkpoints", "latest.h5")) == "epoch-000003.h5"
    for f in files:
        run(["h5dump", "-H", f])
    rewards, x0 = [], []
    for f in sorted(glob.glob(os.path.join(run_dir, "trajectories", "seg-*.h5"))):
        with h5py.File(f, "r") as h:
            assert h.attrs["schema_version"] == 1 and h.attrs["kind"] == "trajectories", f
            n = int(h.attrs["n_trajectories"])
            T = int(h.attrs["steps"])
            assert n == 10 and T == expect["steps"], (f, n, T)
            assert h["latents"].shape == (n, T + 1, 2) and h["latents"].dtype == np.float32
            assert h["timesteps"].shape == (n, T) and h["timesteps"].dtype == np.int64
            assert h["log_pf"].shape == (n, T) and h["log_pb"].shape == (n, T)
            assert h["seed"].dtype == np.int64 and h["policy_version"].shape == (n,)
            assert h["config"][()].decode() == expect["config"]
            assert h["prompts"][0].decode().startswith("a prompt ✓ ")
            for a in ("run_name", "rank", "world_size", "segment", "git_revision", "model_id", "scheduler",
                      "eta", "guidance", "algorithm", "policy_version_min", "policy_version_max", "created"):
                assert a in h.attrs, (f, a)
            rewards.append(h["rewards"][:n])
            x0.append(h["latents"][:n, -1].ravel())
    np.testing.assert_array_equal(np.concatenate(rewards), np.float32(expect["rewards"]))
    np.testing.assert_array_equal(np.concatenate(x0), np.float32(expect["x0"]))
    # The index's virtual datasets read as one array, from any working directory.
    cwd = os.getcwd()
    os.chdir(tempfile.gettempdir())
    try:
        with h5py.File(os.path.join(run_dir, "trajectories", "index.h5"), "r") as h:
            assert h.attrs["kind"] == "trajectory-index"
            assert list(h["rows"][:]) == [10, 10, 10, 10]
            np.testing.assert_array_equal(h["rewards"][:], np.float32(expect["rewards"]))
            assert h["latents"].is_virtual and h["latents"].shape == (40, expect["steps"] + 1, 2)
            np.testing.assert_array_equal(h["latents"][:, -1].ravel(), np.float32(expect["x0"]))
    finally:
        os.chdir(cwd)
    with h5py.File(os.path.join(run_dir, "images.h5"), "r") as h:
        lat = h["latents"]
        assert lat.dtype == np.float16 and lat.compression == "gzip" and lat.compression_opts == 4, (lat.dtype, lat.compression)
        assert lat.chunks == (8, 4, 4, 8, 8), lat.chunks  # 16 KiB chunks of 2 KiB rows
        np.testing.assert_array_equal(lat[:, -1].astype(np.float32).ravel(), np.float32(expect["images_latents_f16"]))
        assert h["images"].dtype == np.uint8 and h["images"].shape == (6, 16, 16, 3)
        assert int(h["images"][:].astype(np.int64).sum()) == expect["images_sum"]
        np.testing.assert_array_equal(h["rewards"][:], np.float32(expect["images_rewards"]))
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as h:
        np.testing.assert_array_equal(h["epoch"][:], np.arange(12))
        np.testing.assert_array_equal(h["loss"][:], np.array(expect["loss"]))
        kl = h["kl"][:]
        assert np.isnan(kl[:5]).all() and np.allclose(kl[5:], 0.01 * np.arange(5, 12))
    lines = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    assert [l["epoch"] for l in lines] == list(range(12))
    assert [l["reward_mean"] for l in lines] == expect["reward_mean"]
    with h5py.File(os.path.join(run_dir, "checkpoints", "epoch-000003.h5"), "r") as h:
        assert h.attrs["complete"] == 1 and h.attrs["epoch"] == 3 and h.attrs["step"] == 30
        np.testing.assert_array_equal(h["params/w"][:], np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
        assert h["rng/rank-000"].dtype == np.uint8
        assert h["config"][()].decode() == expect["config"]


def case_plot(run_dir, out):
    for src in ("metrics.h5", "metrics.jsonl"):
        png = os.path.join(out, src + ".png")
        run([PY, os.path.join(TOOLS, "plot_curves.py"), os.path.join(run_dir, src), "-o", png])
        check_png(png)
    png = os.path.join(out, "kl.png")
    run([PY, os.path.join(TOOLS, "plot_curves.py"), run_dir, "--metrics", "kl,loss", "-o", png])
    check_png(png)
    p = run([PY, os.path.join(TOOLS, "plot_curves.py"), run_dir, "--metrics", "nope", "-o", png], ok=False)
    assert p.returncode != 0 and "nope" in p.stderr, p.stderr


def case_grid(run_dir, out):
    cases = {"scatter": os.path.join(run_dir, "trajectories", "seg-000000.rank-000.h5"),
             "images": os.path.join(run_dir, "images.h5"),
             "index": os.path.join(run_dir, "trajectories", "index.h5")}
    for name, f in cases.items():
        png = os.path.join(out, f"grid-{name}.png")
        p = run([PY, os.path.join(TOOLS, "sample_grid.py"), f, "-o", png, "-n", "4"])
        check_png(png)
        assert ("(images)" in p.stdout) == (name == "images"), p.stdout
    p = run([PY, os.path.join(TOOLS, "sample_grid.py"), os.path.join(run_dir, "metrics.h5"), "-o",
             os.path.join(out, "x.png")], ok=False)
    assert p.returncode != 0 and "not a trajectory file" in p.stderr, p.stderr


def case_export(run_dir, out, expect):
    import h5py
    idx = os.path.join(run_dir, "trajectories", "index.h5")
    run([PY, os.path.join(TOOLS, "export.py"), idx, "-d", "rewards,latents", "-f", "npy", "-o", out])
    np.testing.assert_array_equal(np.load(os.path.join(out, "rewards.npy")), np.float32(expect["rewards"]))
    assert np.load(os.path.join(out, "latents.npy")).shape == (40, expect["steps"] + 1, 2)
    run([PY, os.path.join(TOOLS, "export.py"), idx, "-d", "rewards,latents", "-f", "csv", "-o", out, "--rows", "5:15"])
    rows = [l.rstrip("\n").split(",") for l in open(os.path.join(out, "rewards.csv"))]
    assert rows[0] == ["rewards"] and len(rows) == 11, rows[:3]
    np.testing.assert_array_equal(np.float32([float(r[0]) for r in rows[1:]]), np.float32(expect["rewards"][5:15]))
    lat = np.loadtxt(os.path.join(out, "latents.csv"), delimiter=",", skiprows=1)
    assert lat.shape == (10, (expect["steps"] + 1) * 2), lat.shape
    np.testing.assert_array_equal(np.float32(lat[:, -2:].ravel()), np.float32(expect["x0"][10:30]))
    seg = os.path.join(run_dir, "trajectories", "seg-000000.rank-000.h5")
    run([PY, os.path.join(TOOLS, "export.py"), seg, "-d", "prompts,config", "-o", out])
    prompts = open(os.path.join(out, "prompts.csv"), encoding="utf-8").read().splitlines()
    assert prompts[0] == "prompts" and prompts[1] == "a prompt ✓ 0" and len(prompts) == 11, prompts[:3]
    ck = os.path.join(run_dir, "checkpoints", "epoch-000003.h5")
    run([PY, os.path.join(TOOLS, "export.py"), ck, "-d", "params/w", "-f", "npy", "-o", out])
    with h5py.File(ck, "r") as h:
        np.testing.assert_array_equal(np.load(os.path.join(out, "params.w.npy")), h["params/w"][:])
    p = run([PY, os.path.join(TOOLS, "export.py"), seg, "-d", "nope", "-o", out], ok=False)
    assert p.returncode != 0 and "no dataset 'nope'" in p.stderr


def stats_line(text, label):
    m = re.search(rf"^{re.escape(label)}: n=(\d+) mean=(\S+) std=(\S+) min=(\S+) max=(\S+)$", text, re.M)
    assert m, f"no '{label}' statistics in:\n{text}"
    return int(m.group(1)), [float(v) for v in m.groups()[1:]]


def case_inspect(run_dir, out, binary):
    import h5py
    seg = os.path.join(run_dir, "trajectories", "seg-000001.rank-000.h5")
    text = run([binary, "inspect", seg]).stdout
    with h5py.File(seg, "r") as h:
        r = h["rewards"][:].astype(np.float64)
    n, (mean, std, lo, hi) = stats_line(text, "rewards")
    assert n == len(r)
    np.testing.assert_allclose([mean, std, lo, hi], [r.mean(), r.std(), r.min(), r.max()], rtol=1e-5, atol=1e-6)
    for want in ("kind: trajectories  schema_version: 1", "trajectories: 10 (T = 6, state (2)", "model_id",
                 "latents", "float32", "(10, 7, 2)", "config:", "lr = 0.0003"):
        assert want in text, f"inspect output lacks {want!r}:\n{text}"
    text = run([binary, "inspect", os.path.join(run_dir, "images.h5"), "--no-config"]).stdout
    assert "float16" in text and "deflate 4" in text and "config:" not in text, text
    text = run([binary, "inspect", os.path.join(run_dir, "checkpoints", "epoch-000003.h5")]).stdout
    for want in ("kind: checkpoint", "epoch", "checkpoint: complete, 3 tensors", "params", "rng", "lr = 0.0003"):
        assert want in text, f"inspect output lacks {want!r}:\n{text}"
    text = run([binary, "inspect", os.path.join(run_dir, "metrics.h5")]).stdout
    n, (mean, std, lo, hi) = stats_line(text, "  kl")
    kl = 0.01 * np.arange(5, 12)
    assert n == 7
    np.testing.assert_allclose([mean, std, lo, hi], [kl.mean(), kl.std(), kl.min(), kl.max()], rtol=1e-5)
    assert "metrics: 12 epochs (0..11)" in text, text
    text = run([binary, "inspect", os.path.join(run_dir, "trajectories", "index.h5")]).stdout
    assert "index: 4 files, 40 trajectories" in text and "virtual" in text, text
    n, _ = stats_line(text, "rewards")
    assert n == 40
    # Errors name the file: a truncated copy, a missing file.
    bad = os.path.join(out, "truncated.h5")
    shutil.copy(seg, bad)
    os.truncate(bad, os.path.getsize(bad) // 2)
    p = run([binary, "inspect", bad], ok=False)
    assert p.returncode == 1 and bad in p.stderr and "truncated" in p.stderr, p.stderr
    p = run([binary, "inspect", os.path.join(out, "missing.h5")], ok=False)
    assert p.returncode == 1 and "missing.h5" in p.stderr, p.stderr
    # A file another process has open for writing is locked (HDF5 1.10): the message says what to do.
    live = os.path.join(out, "live.h5")
    with h5py.File(live, "w") as h:
        h["x"] = np.arange(3)
        h.flush()
        p = run([binary, "inspect", live], ok=False)
    assert p.returncode == 1 and live in p.stderr and "HDF5_USE_FILE_LOCKING=FALSE" in p.stderr, p.stderr


def main():
    case, run_dir = sys.argv[1], os.path.abspath(sys.argv[2])
    expect = json.load(open(os.path.join(run_dir, "expected.json")))
    out = run_dir + "-out-" + case  # beside the run, so that the 'files' case sees only what io_make_run wrote
    os.makedirs(out, exist_ok=True)
    if case == "files":
        case_files(run_dir, expect)
    elif case == "plot":
        case_plot(run_dir, out)
    elif case == "grid":
        case_grid(run_dir, out)
    elif case == "export":
        case_export(run_dir, out, expect)
    elif case == "inspect":
        case_inspect(run_dir, out, sys.argv[3])
    else:
        raise SystemExit(f"unknown case {case}")
    print(f"{case}: ok")


if __name__ == "__main__":
    main()
