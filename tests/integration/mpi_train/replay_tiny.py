#!/usr/bin/python3
"""`dagalign replay` on the tiny text-to-image model (models/tiny-shapes, LoRA + flow network, CFG), 1 or 2 ranks.

usage: replay_tiny.py DAGALIGN COMPARE MPIEXEC WORK RANKS

For DAG-DB, DAG-KL and DDPO: a 2-epoch training run; sequential replay of its epoch-2 files, started from the
run's checkpoint before epoch 2 and configured by the run's own config.ini, computes exactly the on-policy
epoch 2 (the same loss in metrics.jsonl, byte-identical params-final.safetensors). For DAG-DB also: uniform
replay over both epochs' files for 3 epochs equals the same replay stopped by the preemption signal (exit 75)
and resumed; and a file of another step count is refused, naming the file and the field, before any model
is loaded; and `dagalign sample --lora` takes a mid-run checkpoint.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kill_resume import SRC, interrupt, run, same  # noqa: E402

ARGS = ["--config", os.path.join(SRC, "tests", "integration", "mpi_train", "tiny-shapes.ini"),
        "--model.path", os.path.join(SRC, "models", "tiny-shapes"),
        "--sample.batch_size", "2", "--sample.batches_per_epoch", "2", "--train.batch_size", "2",
        "--train.grad_accum", "2", "--train.epochs", "2", "--run.save_trajectories", "true", "--run.threads", "1"]


def mpi(mpiexec, ranks, cmd):
    return cmd if ranks == 1 else [mpiexec, "-np", str(ranks), *cmd]


def metrics(d):
    return [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl"))]


def main():
    exe, compare, mpiexec, work, ranks = sys.argv[1:6]
    ranks = int(ranks)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    t0 = time.time()
    for algo in ("dagdb", "dagkl", "ddpo"):
        d = os.path.join(work, algo)
        run(mpi(mpiexec, ranks, [exe, "train", *ARGS, "--train.algorithm", algo, "--run.dir", d]))
        seg1 = os.path.join(d, "trajectories", "seg-000001.rank-*.h5")
        assert len(glob.glob(seg1)) == ranks, glob.glob(seg1)
        out = os.path.join(d, "replay")
        run(mpi(mpiexec, ranks, [exe, "replay", "--config", os.path.join(d, "config.ini"), "--trajectories", seg1,
                                 "--replay.sampling", "sequential", "--replay.epochs", "1",
                                 "--replay.init", os.path.join(d, "checkpoints", "epoch-000001.h5")]))
        on, off = metrics(d)[1], metrics(out)[0]
        for k in on:
            if k.startswith("loss") and on[k] != off[k]:
                sys.exit(f"FAIL: {algo}: {k} on-policy {on[k]!r}, replayed {off[k]!r}")
        same(compare, d, out, f"{algo}: sequential replay of epoch 2")
        print(f"{algo}, {ranks} rank(s): replay of epoch 2 from epoch-000001.h5: loss {off['loss']!r} == on-policy, "
              f"parameters identical")

    d = os.path.join(work, "dagdb")
    both = os.path.join(d, "trajectories", "seg-*.rank-*.h5")

    def replay(out, epochs):
        return mpi(mpiexec, ranks, [exe, "replay", "--config", os.path.join(d, "config.ini"), "--trajectories", both,
                                    "--replay.sampling", "uniform", "--replay.epochs", str(epochs),
                                    "--replay.dir", out])
    ref, cut = os.path.join(work, "uniform"), os.path.join(work, "uniform-preempted")
    run(replay(ref, 3))
    code, text = interrupt(replay(cut, 3), 1, 0.0, signal.SIGUSR2, label="replay epoch")
    if code != 75 or "preemption signal" not in text:
        sys.exit(f"FAIL: preempted replay exited {code}, expected 75\n{text[-2000:]}")
    resumed = run(replay(cut, 3))
    assert "resumed from" in resumed, resumed[-2000:]
    same(compare, ref, cut, "replay preempted and resumed")
    assert [int(m["epoch"]) for m in metrics(cut)] == [1, 2, 3], metrics(cut)
    print("uniform replay, 3 epochs == preempted (exit 75) + resumed: parameters identical, metrics epochs 1..3")

    # A mid-run checkpoint is usable: `sample --lora` takes it (its LoRA beside it) as it takes the LoRA file.
    ckpt = os.path.join(d, "checkpoints", "epoch-000001.h5")
    grids = []
    for lora in (ckpt, ckpt[:-3] + ".lora.safetensors"):
        out = os.path.join(work, f"sample-{len(grids)}.png")
        run([exe, "sample", "--model", os.path.join(SRC, "models", "tiny-shapes"), "--prompt", "a red circle",
             "--num", "2", "--steps", "4", "--threads", "1", "--lora", lora, "--out", out])
        grids.append(open(out, "rb").read())
    assert grids[0] == grids[1], "sample --lora CHECKPOINT.h5 differs from --lora its .lora.safetensors"
    print("sample --lora checkpoints/epoch-000001.h5 == --lora checkpoints/epoch-000001.lora.safetensors")

    other = os.path.join(work, "other-steps.h5")
    shutil.copy(sorted(glob.glob(both))[0], other)
    p = subprocess.run([exe, "replay", "--config", os.path.join(d, "config.ini"), "--trajectories", other,
                        "--sample.steps", "6", "--replay.dir", os.path.join(work, "refused")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    errors = [l for l in p.stdout.splitlines() if "error" in l]
    if p.returncode == 0 or not any(other in l and "steps" in l for l in errors) or "diffusers world: loaded" in p.stdout:
        sys.exit(f"FAIL: a file of 4 steps replayed with sample.steps 6: exit {p.returncode}\n{p.stdout[-2000:]}")
    print(f"refused before loading the model: {errors[-1]}")
    print(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
