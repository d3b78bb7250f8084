#!/usr/bin/python3
"""End-to-end tests of the real `dagalign` binary on the tiny 2-D run (Debian's python3: h5py, numpy).

usage: e2e.py CASE DAGALIGN WORK_DIR [SOURCE_DIR] [args]
cases:
  kill SEED TRIALS   SIGKILL a training run at random moments; after each kill every trajectory file opens
                     with h5py and h5dump and holds every batch of the epochs logged as finished; resuming in
                     the same run dir completes the run with parameters byte-identical to an uninterrupted run
  resume             4 epochs in one go == 2 epochs + resume to 4 == preemption signal (exit 75) + resume
                     (params-final.safetensors compared with cmp)
  replay             sequential replay of a stored epoch reproduces the on-policy epoch (same loss, same
                     parameters); prioritized and uniform replay run and write metrics and parameters
  replay_mpi MPIEXEC the same on 2 ranks (mpiexec -np 2), both ranks' files through one glob
  errors             replay of a glob matching nothing, a truncated file, a file of another model, of other
                     steps, of another schema version, without a dataset: non-zero exit, message naming the file
  resume_metrics     metrics.jsonl of a resumed run holds every epoch once
  mix                train.replay_fraction: 0 == on-policy bitwise, 0.5 doubles the trained rows, exact resume
  io_share           prints the share of epoch time spent in I/O (metrics seconds_io / seconds)
"""
import filecmp
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = os.path.join(SRC, "configs", "toy2d", "dagdb.ini")
BATCH = 32          # sample.batch_size
BATCHES = 2         # sample.batches_per_epoch
TINY = ["--toy2d.pretrain_steps", "100", "--sample.steps", "5", "--sample.batch_size", str(BATCH),
        "--sample.batches_per_epoch", str(BATCHES), "--train.batch_size", "32", "--train.grad_accum", "1",
        "--run.threads", "1"]
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def tiny(extra):
    """TINY without the keys that `extra` sets (a key may be given once on the command line)."""
    keys = {a for a in extra if a.startswith("--")}
    out = []
    for i in range(0, len(TINY), 2):
        if TINY[i] not in keys:
            out += TINY[i:i + 2]
    return out


def train_cmd(exe, run_dir, epochs, *extra):
    return [exe, "train", "--config", CONFIG, *tiny(extra), "--train.epochs", str(epochs), "--run.dir", run_dir, *extra]


def run(cmd, expect=0, timeout=60):
    p = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if expect is not None and p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}, expected {expect}\n{p.stdout[-3000:]}")
    return p


def epochs_logged(text):
    """Epoch numbers of the 'epoch k/E | ...' lines (an epoch is logged after its update)."""
    return [int(l.split()[1].split("/")[0]) for l in text.splitlines() if l.startswith("epoch ")]


def check_trajectories(run_dir, finished):
    """Every seg file opens with h5py and h5dump; rows are whole sampling batches; the segments of the
    `finished` epochs hold all their batches."""
    import h5py
    files = sorted(glob.glob(os.path.join(run_dir, "trajectories", "seg-*.h5")))
    rows = {}
    for path in files:
        with h5py.File(path, "r") as f:
            assert f.attrs["kind"] in (b"trajectories", "trajectories"), path
            n = int(f.attrs["n_trajectories"])
            assert n % BATCH == 0, f"{path}: {n} rows is not a multiple of the sampling batch {BATCH}"
            for name in ("latents", "timesteps", "log_pf", "log_pb", "rewards", "seed", "policy_version"):
                if n:
                    assert f[name].shape[0] >= n, f"{path}: {name} holds {f[name].shape[0]} < {n} rows"
            seg = int(f.attrs["segment"])
        h = subprocess.run(["h5dump", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert h.returncode == 0, f"h5dump {path} failed: {h.stderr[-500:]}"
        rows[seg] = n
    for e in finished:  # epoch e (1-based) is segment e-1
        assert rows.get(e - 1) == BATCH * BATCHES, f"epoch {e} logged as finished, segment holds {rows.get(e - 1)} rows"
    return rows


def check_metrics(run_dir, epochs):
    lines = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    got = [int(m["epoch"]) for m in lines]
    assert got == list(range(1, epochs + 1)), f"{run_dir}/metrics.jsonl epochs {got}"


def case_kill(exe, work, seed, trials):
    rng = random.Random(seed)
    epochs = 6
    ref = os.path.join(work, "reference")
    run(train_cmd(exe, ref, epochs))
    t0 = time.time()
    for k in range(trials):
        d = os.path.join(work, f"trial-{k:02d}")
        p = subprocess.Popen(train_cmd(exe, d, epochs), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        # Kill after a random epoch's log line plus a random delay inside the next epoch (epochs take ~50 ms),
        # or, one trial in four, at a random time from the start (pretraining, first epoch).
        after = rng.randint(1, epochs - 1) if rng.random() < 0.75 else 0
        delay = rng.uniform(0.0, 0.08) if after else rng.uniform(0.3, 1.5)
        out = []
        if after:
            for line in p.stdout:
                out.append(line)
                if line.startswith(f"epoch {after}/"):
                    break
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        rest, _ = p.communicate()
        text = "".join(out) + rest
        finished = epochs_logged(text)
        rows = check_trajectories(d, finished)
        ckpts = sorted(os.path.basename(c) for c in glob.glob(os.path.join(d, "checkpoints", "*.h5")))
        print(f"trial {k}: killed after epoch line {after} + {delay:.3f}s, exit {p.returncode}, epochs logged "
              f"{finished}, segment rows {rows}, checkpoints {ckpts}")
        r = run(train_cmd(exe, d, epochs))
        check_trajectories(d, range(1, epochs + 1))
        assert filecmp.cmp(os.path.join(ref, "params-final.safetensors"), os.path.join(d, "params-final.safetensors"),
                           shallow=False), f"trial {k}: resumed parameters differ from the uninterrupted run"
        print(f"  resumed: {'resumed from' in r.stdout and 'checkpoint' or 'from scratch'}, parameters identical")
        shutil.rmtree(d)
    print(f"{trials} kill trials in {time.time() - t0:.1f} s")


def case_resume(exe, work):
    ref, two, sig = (os.path.join(work, n) for n in ("four", "two-plus-two", "signal"))
    run(train_cmd(exe, ref, 4))
    run(train_cmd(exe, two, 2))
    run(train_cmd(exe, two, 4))
    # Preemption: SIGUSR2 (run.preempt_signal) while epoch 2 runs -> checkpoint and exit 75.
    p = subprocess.Popen(train_cmd(exe, sig, 4), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in p.stdout:
        out.append(line)
        if line.startswith("epoch 1/"):
            p.send_signal(signal.SIGUSR2)
            break
    rest, _ = p.communicate()
    text = "".join(out) + rest
    assert p.returncode == 75, f"preempted run exited {p.returncode}, expected 75\n{text[-2000:]}"
    stopped = max(epochs_logged(text))
    assert "preemption signal" in text and stopped < 4, f"stopped after epoch {stopped}\n{text[-2000:]}"
    assert not os.path.exists(os.path.join(sig, "params-final.safetensors"))
    run(train_cmd(exe, sig, 4))
    for d in (two, sig):
        assert filecmp.cmp(os.path.join(ref, "params-final.safetensors"), os.path.join(d, "params-final.safetensors"),
                           shallow=False), f"{d}: parameters differ from 4 epochs in one go"
    print(f"4 epochs == 2 + 2 == preempted after epoch {stopped} (exit 75) + resumed: params-final byte-identical")


def case_resume_metrics(exe, work):
    """After 2 epochs + resume to 4, metrics.jsonl holds epochs 1..4 once each."""
    d = os.path.join(work, "run")
    run(train_cmd(exe, d, 2))
    run(train_cmd(exe, d, 4))
    check_metrics(d, 4)
    print("metrics.jsonl after 2 + resumed 2 epochs: epochs 1..4")


def replay_cmd(exe, run_dir, pattern, *extra):
    """Replay configured by the run's own resolved config.ini (its beta schedule included)."""
    return [exe, "replay", "--config", os.path.join(run_dir, "config.ini"), "--trajectories", pattern, *extra]


def case_replay(exe, work):
    d = os.path.join(work, "one-epoch")
    run(train_cmd(exe, d, 1))
    seg0 = os.path.join(d, "trajectories", "seg-000000.rank-000.h5")
    run(replay_cmd(exe, d, seg0, "--replay.sampling", "sequential", "--replay.epochs", "1"))
    on = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl"))][0]
    off = [json.loads(l) for l in open(os.path.join(d, "replay", "metrics.jsonl"))][0]
    for k in ("loss", "loss_db", "db_residual_abs", "reward_mean"):
        assert abs(on[k] - off[k]) <= 1e-6 * max(1.0, abs(on[k])), f"{k}: on-policy {on[k]} replayed {off[k]}"
    assert filecmp.cmp(os.path.join(d, "params-final.safetensors"),
                       os.path.join(d, "replay", "params-final.safetensors"), shallow=False), "parameters differ"
    print(f"sequential replay of epoch 1: loss {off['loss']:.9g} == on-policy {on['loss']:.9g}, parameters identical")
    # Epoch 2 of a 2-epoch run, replayed from the checkpoint saved before it.
    d2 = os.path.join(work, "two-epochs")
    run(train_cmd(exe, d2, 2))
    seg1 = os.path.join(d2, "trajectories", "seg-000001.rank-000.h5")
    run(replay_cmd(exe, d2, seg1, "--replay.sampling", "sequential", "--replay.epochs", "1",
                   "--replay.init", os.path.join(d2, "checkpoints", "epoch-000001.h5")))
    on = [json.loads(l) for l in open(os.path.join(d2, "metrics.jsonl"))][1]
    off = [json.loads(l) for l in open(os.path.join(d2, "replay", "metrics.jsonl"))][0]
    assert on["epoch"] == 2
    for k in ("loss", "loss_db", "db_residual_abs", "reward_mean"):
        assert abs(on[k] - off[k]) <= 1e-6 * max(1.0, abs(on[k])), f"{k}: on-policy {on[k]} replayed {off[k]}"
    assert filecmp.cmp(os.path.join(d2, "params-final.safetensors"),
                       os.path.join(d2, "replay", "params-final.safetensors"), shallow=False), "parameters differ"
    print(f"sequential replay of epoch 2 from checkpoint epoch-000001.h5: loss {off['loss']:.9g} == on-policy "
          f"{on['loss']:.9g}, parameters identical")
    for sampling in ("uniform", "prioritized"):
        out = os.path.join(work, f"replay-{sampling}")
        r = run(replay_cmd(exe, d, os.path.join(d, "trajectories", "seg-*.h5"), "--replay.sampling", sampling,
                           "--replay.epochs", "3", "--replay.dir", out))
        lines = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))]
        assert [int(m["epoch"]) for m in lines] == [1, 2, 3], out
        assert os.path.exists(os.path.join(out, "params-final.safetensors"))
        print(f"{sampling}: reward of replayed rows {[round(m['reward_mean'], 3) for m in lines]}, "
              f"loss {[round(m['loss'], 3) for m in lines]}")


def case_replay_mpi(exe, work, mpiexec):
    """2 ranks: sequential replay of both ranks' epoch-1 files reproduces the 2-rank on-policy epoch."""
    ENV.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_hwloc_base_binding_policy="none")
    mpi = [mpiexec, "-np", "2"]
    d = os.path.join(work, "two-ranks")
    run(mpi + train_cmd(exe, d, 1), timeout=120)
    files = sorted(glob.glob(os.path.join(d, "trajectories", "seg-000000.rank-*.h5")))
    assert len(files) == 2, files
    run(mpi + replay_cmd(exe, d, os.path.join(d, "trajectories", "seg-000000.rank-*.h5"), "--replay.sampling",
                         "sequential", "--replay.epochs", "1"), timeout=120)
    on = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl"))][0]
    off = [json.loads(l) for l in open(os.path.join(d, "replay", "metrics.jsonl"))][0]
    assert abs(on["loss"] - off["loss"]) <= 1e-6 * max(1.0, abs(on["loss"])), f"on-policy {on['loss']} replayed {off['loss']}"
    assert filecmp.cmp(os.path.join(d, "params-final.safetensors"),
                       os.path.join(d, "replay", "params-final.safetensors"), shallow=False), "parameters differ"
    print(f"2 ranks: sequential replay loss {off['loss']:.9g} == on-policy {on['loss']:.9g}, parameters identical")


def expect_error(cmd, *needles):
    p = run(cmd, expect=None)
    assert p.returncode != 0, f"{' '.join(cmd)} succeeded\n{p.stdout[-2000:]}"
    msg = [l for l in p.stdout.splitlines() if "error" in l]
    for n in needles:
        assert any(n in l for l in msg), f"error message does not name {n!r}: {msg}"
    print(f"exit {p.returncode}: {msg[-1] if msg else ''}")


def case_errors(exe, work):
    import h5py
    d = os.path.join(work, "run")
    run(train_cmd(exe, d, 1))
    seg0 = os.path.join(d, "trajectories", "seg-000000.rank-000.h5")
    nothing = os.path.join(work, "nowhere", "seg-*.h5")
    expect_error(replay_cmd(exe, d, nothing), nothing)
    truncated = os.path.join(work, "truncated.h5")
    data = open(seg0, "rb").read()
    open(truncated, "wb").write(data[: len(data) // 2])
    expect_error(replay_cmd(exe, d, truncated), truncated)
    other = os.path.join(work, "other-model.h5")
    shutil.copy(seg0, other)
    with h5py.File(other, "r+") as f:
        f.attrs["model_id"] = "another-model"
    expect_error(replay_cmd(exe, d, other), other, "model")
    expect_error(replay_cmd(exe, d, seg0, "--sample.steps", "6"), seg0, "steps")
    schema = os.path.join(work, "schema-v2.h5")
    shutil.copy(seg0, schema)
    with h5py.File(schema, "r+") as f:
        f.attrs["schema_version"] = 2
    expect_error(replay_cmd(exe, d, schema), schema, "schema")
    missing = os.path.join(work, "no-rewards.h5")
    shutil.copy(seg0, missing)
    with h5py.File(missing, "r+") as f:
        del f["rewards"]
    expect_error(replay_cmd(exe, d, missing), missing, "rewards")


def case_mix(exe, work):
    """train.replay_fraction: 0 is the on-policy run bit for bit; 0.5 trains each epoch after the first on as many
    stored rows of earlier epochs as fresh ones (twice the transitions), reports the fresh rows' reward, and
    resumes exactly (2 epochs + resume to 3 == 3 epochs)."""
    ref, zero = os.path.join(work, "on-policy"), os.path.join(work, "fraction-0")
    run(train_cmd(exe, ref, 2))
    run(train_cmd(exe, zero, 2, "--train.replay_fraction", "0"))
    assert filecmp.cmp(os.path.join(ref, "params-final.safetensors"), os.path.join(zero, "params-final.safetensors"),
                       shallow=False), "replay_fraction 0 differs from the on-policy run"
    mixed, resumed = os.path.join(work, "fraction-0.5"), os.path.join(work, "fraction-0.5-resumed")
    run(train_cmd(exe, mixed, 3, "--train.replay_fraction", "0.5"))
    m = [json.loads(l) for l in open(os.path.join(mixed, "metrics.jsonl"))]
    n = BATCH * BATCHES
    assert [int(x["trajectories"]) for x in m] == [n] * 3, m
    assert int(m[1]["transitions"]) == 2 * int(m[0]["transitions"]) == int(m[2]["transitions"]), m
    on = [json.loads(l) for l in open(os.path.join(ref, "metrics.jsonl"))]
    # epoch 1 has nothing stored before it: the on-policy update; epoch 2 trains other rows, its fresh ones the same
    assert on[0]["loss"] == m[0]["loss"] and on[1]["reward_mean"] == m[1]["reward_mean"], (on[:2], m[:2])
    assert on[1]["loss"] != m[1]["loss"], "epoch 2 trained no stored rows"
    run(train_cmd(exe, resumed, 2, "--train.replay_fraction", "0.5"))
    run(train_cmd(exe, resumed, 3, "--train.replay_fraction", "0.5"))
    assert filecmp.cmp(os.path.join(mixed, "params-final.safetensors"),
                       os.path.join(resumed, "params-final.safetensors"), shallow=False), "mixed run resumed differs"
    print(f"replay_fraction 0 == on-policy; 0.5: transitions per epoch {[int(x['transitions']) for x in m]}, "
          "3 epochs == 2 + resumed 1 (byte-identical parameters)")


def case_io_share(exe, work):
    d = os.path.join(work, "io")
    run(train_cmd(exe, d, 10))
    m = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl"))]
    io, total = sum(x["seconds_io"] for x in m), sum(x["seconds"] for x in m)
    # Upper bound: everything of the epoch that is not sampling, reward or training (file create/close too).
    other = sum(x["seconds"] - x["seconds_sample"] - x["seconds_reward"] - x["seconds_train"] for x in m)
    print(f"I/O share of epoch time: {100 * io / total:.2f}% ({io * 1e3:.1f} ms of {total * 1e3:.1f} ms over "
          f"{len(m)} epochs; per epoch median io {sorted(x['seconds_io'] for x in m)[len(m) // 2] * 1e3:.2f} ms); "
          f"epoch time outside sample/reward/train (incl. file create/close): {100 * other / total:.2f}%")


def main():
    case, exe, work = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    t0 = time.time()
    if case == "kill":
        case_kill(exe, work, int(sys.argv[4]), int(sys.argv[5]))
    elif case == "resume":
        case_resume(exe, work)
    elif case == "resume_metrics":
        case_resume_metrics(exe, work)
    elif case == "replay":
        case_replay(exe, work)
    elif case == "replay_mpi":
        case_replay_mpi(exe, work, sys.argv[4])
    elif case == "mix":
        case_mix(exe, work)
    elif case == "errors":
        case_errors(exe, work)
    elif case == "io_share":
        case_io_share(exe, work)
    else:
        sys.exit(f"unknown case {case}")
    shutil.rmtree(work, ignore_errors=True)
    print(f"{case}: passed in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
