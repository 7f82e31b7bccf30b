"""The fuzz worker: a child interpreter that runs cases sent by _runner.Worker, so a crash or a
hang takes down this process, not the test session. Protocol on a dedicated pipe (the worker's
original stdout; print() and native output go to stderr): 8-byte length + pickle, both ways.
Request: (case, backends). Reply, per backend: ("ok", [arrays]) or ("raised", type name,
is an alphacut.InputError, message)."""

from __future__ import annotations

import os
import pickle
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _cases


def _read(f):
    head = f.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(f.read(n))


def _write(f, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)))
    f.write(data)
    f.flush()


def main() -> None:
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    proto_in = os.fdopen(os.dup(0), "rb")
    import alphacut

    _write(proto_out, ("ready", os.getpid()))
    while True:
        req = _read(proto_in)
        if req is None:
            return
        case, backends = req
        replies = []
        for b in backends:
            try:
                out = _cases.outputs(_cases.run(case, b))
                replies.append(("ok", [o.copy() if hasattr(o, "copy") else o for o in out]))
            except BaseException as e:  # every failure is reported, classified by the runner
                if isinstance(e, KeyboardInterrupt):
                    raise
                replies.append(
                    (
                        "raised",
                        type(e).__module__ + "." + type(e).__qualname__,
                        isinstance(e, alphacut.InputError),
                        str(e)[:500],
                    )
                )
        _write(proto_out, replies)


if __name__ == "__main__":
    main()
