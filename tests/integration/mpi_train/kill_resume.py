#!/usr/bin/python3
"""Kill-and-resume on the tiny text-to-image model (models/tiny-shapes, LoRA + flow network, DAG-DB with CFG),
on 1 rank or on 2 ranks (mpiexec -np 2).

usage: kill_resume.py DAGALIGN COMPARE MPIEXEC WORK RANKS SEED TRIALS

An uninterrupted run is the reference. Each trial starts the same run in a fresh directory, SIGKILLs its whole
process group (mpiexec and every rank, as a node failure would) at a random moment (after a random epoch's log
line plus a random delay, or at a random time from the start), then runs the same command again, which resumes
from the newest valid checkpoint. The last trial stops the run with the preemption signal instead (SIGUSR2:
checkpoint, exit 75). Every resumed run must end with parameters byte-identical to the reference
(params-final.safetensors); COMPARE prints the size of a difference when there is one.
"""
import filecmp
import os
import random
import shutil
import signal
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EPOCHS = 5
ARGS = ["--config", os.path.join(SRC, "tests", "integration", "mpi_train", "tiny-shapes.ini"),
        "--model.path", os.path.join(SRC, "models", "tiny-shapes"), "--train.algorithm", "dagdb",
        "--sample.batch_size", "2", "--sample.batches_per_epoch", "2", "--train.batch_size", "2",
        "--train.grad_accum", "2", "--train.epochs", str(EPOCHS), "--run.checkpoint_every", "1",
        "--run.save_trajectories", "true", "--run.threads", "1"]


def command(exe, mpiexec, ranks, run_dir):
    cmd = [exe, "train", *ARGS, "--run.dir", run_dir]
    return cmd if ranks == 1 else [mpiexec, "-np", str(ranks), *cmd]


def run(cmd, expect=0):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    if p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}, expected {expect}\n{p.stdout[-3000:]}")
    return p.stdout


def interrupt(cmd, after, delay, sig, label="epoch"):
    """Starts cmd in its own process group; after the log line of epoch `after` (0: from the start; lines
    starting with `label`) and `delay` seconds, sends `sig` to the whole group. Returns (exit code, output)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = []
    if after:
        for line in p.stdout:
            out.append(line)
            if line.startswith(f"{label} {after}/"):
                break
    time.sleep(delay)
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass
    rest, _ = p.communicate(timeout=240)
    if sig == signal.SIGKILL:  # orphaned ranks of a killed mpiexec must not outlive the trial
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return p.returncode, "".join(out) + rest


def same(compare, ref, d, what):
    a, b = os.path.join(ref, "params-final.safetensors"), os.path.join(d, "params-final.safetensors")
    if not filecmp.cmp(a, b, shallow=False):
        diff = subprocess.run([compare, a, b, "0"], stdout=subprocess.PIPE, text=True).stdout.strip()
        sys.exit(f"FAIL: {what}: parameters differ: {diff}")


def main():
    exe, compare, mpiexec, work, ranks, seed, trials = sys.argv[1:8]
    ranks, trials = int(ranks), int(trials)
    rng = random.Random(int(seed))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ref = os.path.join(work, "reference")
    t0 = time.time()
    run(command(exe, mpiexec, ranks, ref))
    epoch_s = (time.time() - t0) / EPOCHS  # an upper bound: includes start-up
    print(f"reference: {EPOCHS} epochs on {ranks} rank(s) in {time.time() - t0:.1f} s")
    resumed_from_checkpoint = 0
    for k in range(trials):
        d = os.path.join(work, f"trial-{k:02d}")
        cmd = command(exe, mpiexec, ranks, d)
        if k == trials - 1:  # preemption: checkpoint after the current epoch, exit 75
            after = rng.randint(1, EPOCHS - 2)
            code, text = interrupt(cmd, after, 0.0, signal.SIGUSR2)
            if code != 75 or "preemption signal" not in text:
                sys.exit(f"FAIL: preempted run exited {code}, expected 75\n{text[-2000:]}")
            what = f"preempted after epoch line {after} (exit 75)"
        else:
            after = rng.randint(1, EPOCHS - 1) if rng.random() < 0.75 else 0
            delay = rng.uniform(0.0, epoch_s) if after else rng.uniform(0.5, 2 * epoch_s)
            code, text = interrupt(cmd, after, delay, signal.SIGKILL)
            what = f"killed after epoch line {after} + {delay:.2f} s (exit {code})"
        out = run(cmd)
        resumed = "resumed from" in out
        resumed_from_checkpoint += resumed
        same(compare, ref, d, f"trial {k}, resumed vs uninterrupted")
        print(f"trial {k}: {what}; {'resumed from a checkpoint' if resumed else 'started afresh'}, "
              f"parameters identical")
        shutil.rmtree(d)
    print(f"{trials} trials on {ranks} rank(s), {resumed_from_checkpoint} resumed from a checkpoint, "
          f"in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
