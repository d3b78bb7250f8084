"""Server side of dagalign's external-reward protocol (docs/rewards.md), stdlib only.

A scorer is a program that calls `serve(score_fn)`: dagalign starts it, speaks the protocol over its
stdin/stdout and reads its stderr as a log. Never print to stdout (it is the protocol channel).

    score_fn(images, prompts) -> sequence of B floats
      images:  numpy uint8 array (B, H, W, C) when as_numpy=True (default), else a Batch of raw bytes
      prompts: list of B str

Wire format (little-endian uint32 `u`, float32 `f`):
    scorer -> dagalign at start:  b"DAGH" u(version=1)
    dagalign -> scorer per batch: b"DAGR" u(version) u(B) u(H) u(W) u(C), B x (u(len) UTF-8 bytes),
                                  B*H*W*C uint8 (NHWC)
    scorer -> dagalign per batch: b"DAGS" u(count) count x f            (scores)
                               or b"DAGE" u(len) UTF-8 bytes            (refusal with a message)
EOF on stdin means: exit 0.
"""
import struct
import sys

VERSION = 1


class Batch:
    """A request without numpy: pixels is `bytes` of length B*H*W*C (NHWC)."""

    def __init__(self, b, h, w, c, pixels):
        self.shape = (b, h, w, c)
        self.pixels = pixels

    def image(self, i):
        b, h, w, c = self.shape
        n = h * w * c
        return self.pixels[i * n:(i + 1) * n]


def _read_exact(f, n):
    data = bytearray()
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def read_request(f):
    """Returns (B, H, W, C, prompts, pixels) or None at EOF."""
    head = _read_exact(f, 24)
    if head is None:
        return None
    magic, version, b, h, w, c = struct.unpack("<4s5I", head)
    if magic != b"DAGR":
        raise ValueError("bad request magic %r" % magic)
    if version != VERSION:
        raise ValueError("request version %d, this scorer speaks %d" % (version, VERSION))
    prompts = []
    for _ in range(b):
        (n,) = struct.unpack("<I", _read_exact(f, 4))
        prompts.append(_read_exact(f, n).decode("utf-8"))
    pixels = _read_exact(f, b * h * w * c)
    if pixels is None:
        raise ValueError("request truncated")
    return b, h, w, c, prompts, pixels


def write_hello(out):
    out.write(b"DAGH" + struct.pack("<I", VERSION))
    out.flush()


def write_scores(out, scores):
    scores = [float(s) for s in scores]
    out.write(b"DAGS" + struct.pack("<I%df" % len(scores), len(scores), *scores))
    out.flush()


def write_error(out, message):
    data = message.encode("utf-8")
    out.write(b"DAGE" + struct.pack("<I", len(data)) + data)
    out.flush()


def serve(score_fn, as_numpy=True):
    """Answers requests until EOF. An exception in score_fn is sent back as a DAGE refusal."""
    try:
        _serve(score_fn, as_numpy)
    except (BrokenPipeError, ConnectionResetError):
        pass  # dagalign closed the connection (it stopped this scorer): exit quietly


def _serve(score_fn, as_numpy):
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol channel
    write_hello(out)
    while True:
        req = read_request(inp)
        if req is None:
            return
        b, h, w, c, prompts, pixels = req
        if as_numpy:
            import numpy as np
            images = np.frombuffer(pixels, dtype=np.uint8).reshape(b, h, w, c)
        else:
            images = Batch(b, h, w, c, pixels)
        try:
            scores = list(score_fn(images, prompts))
        except Exception as e:  # the scorer refuses this batch, keeps serving
            write_error(out, "%s: %s" % (type(e).__name__, e))
            continue
        write_scores(out, scores)
