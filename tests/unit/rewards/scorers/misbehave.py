#!/usr/bin/python3
"""Test scorer for tests/unit/rewards/test_external.cpp (stdlib only, fast start).

score_i = mean byte of image i + 256 * (UTF-8 length of prompt i), so a test can check that images, prompts
and their order cross the protocol intact. --mode selects a misbehaviour:
  ok | hang (never answers) | hang-start (never says hello) | crash (exit 3 on a request) |
  segv (dies by SIGSEGV on a request) | wrong-count | nan | refuse | stdout-noise |
  crash-once FILE / hang-once FILE (misbehave only while FILE does not exist; creates it)
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "tools", "rewards"))
import dagalign_scorer  # noqa: E402


def main():
    args = sys.argv[1:]
    mode = args[args.index("--mode") + 1] if "--mode" in args else "ok"
    marker = args[args.index("--mode") + 2] if mode.endswith("-once") else None
    if mode == "hang-start":
        time.sleep(3600)
    if mode == "stdout-noise":
        sys.stdout.write("loading model...\n")
        sys.stdout.flush()

    def score(batch, prompts):
        b, h, w, c = batch.shape
        out = [sum(batch.image(i)) / float(h * w * c) + 256 * len(prompts[i].encode("utf-8")) for i in range(b)]
        m = mode
        if m.endswith("-once"):
            if os.path.exists(marker):
                m = "ok"
            else:
                open(marker, "w").close()
                m = m[:-5]
        if m == "hang":
            time.sleep(3600)
        if m == "crash":
            sys.stderr.write("misbehave: exiting with status 3\n")
            sys.exit(3)
        if m == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        if m == "wrong-count":
            out = out[:-1]
        if m == "nan":
            out[1] = float("nan")
        if m == "refuse":
            raise ValueError("cannot score these")
        return out

    dagalign_scorer.serve(score, as_numpy=False)


if __name__ == "__main__":
    main()
