"""A deliberately broken implementation, for testing the runner: `python misbehave.py MODE [OP]`.

It wraps the reference server and misbehaves on requests for operation OP
(default Enc), so every other test still passes and the runner's handling of
each fault can be checked in isolation (tests/test_conformance.py):

  crash           exits with status 3 instead of answering
  hang            never answers
  garbage         writes a line that is not JSON
  out-of-order    holds the answer and sends it after the answer to the next request
  wrong-id        answers with another id
  wrong-output    flips one hex digit of the outputs
  wrong-code      answers errors with a different error code
  accepts-invalid answers requests the reference rejects with empty outputs
  no-envelope     leaves type and id out of the answer
  bad-handshake   declares another protocol version
  v1-only         declares only profile v1 (no fault: the rest must be skipped)
  exit-at-start   exits before the handshake
"""

from __future__ import annotations

import json
import os
import sys
import time

from mpksa.conformance import reference_server


def _flip_hex(value: object) -> object:
    """Change the last hex digit of the first hex string found, depth first."""
    if isinstance(value, str) and value and all(c in "0123456789abcdef" for c in value):
        return value[:-1] + ("0" if value[-1] != "0" else "1")
    if isinstance(value, list):
        for k, item in enumerate(value):
            changed = _flip_hex(item)
            if changed != item:
                return value[:k] + [changed] + value[k + 1:]
    if isinstance(value, dict):
        for key, item in value.items():
            changed = _flip_hex(item)
            if changed != item:
                return {**value, key: changed}
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 1
    return value


def main(mode: str, target_op: str) -> None:
    out = sys.stdout
    held: str | None = None

    def write(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    if mode == "exit-at-start":
        sys.exit(5)
    for line in sys.stdin:
        message = json.loads(line)
        reply = reference_server.answer(message)
        if message.get("type") == "capabilities":
            if mode == "bad-handshake":
                reply["protocol"] = "mpksa-conformance/0"
            if mode == "v1-only":
                reply["profiles"] = ["v1"]
            write(json.dumps(reply))
            continue
        hit = message.get("op") == target_op
        if mode == "wrong-code" and "error" in reply:
            reply["error"]["code"] = "mpksa-error"
        elif mode == "accepts-invalid" and "error" in reply:
            reply = {"type": "response", "id": reply["id"], "outputs": {}}
        elif hit and mode == "crash":
            print("misbehave: crashing on purpose", file=sys.stderr, flush=True)
            os._exit(3)
        elif hit and mode == "hang":
            time.sleep(3600)
        elif hit and mode == "garbage":
            write("this is not JSON {")
            continue
        elif hit and mode == "out-of-order" and held is None:
            held = json.dumps(reply)
            continue
        elif hit and mode == "wrong-id":
            reply["id"] = reply["id"] + 1000
        elif hit and mode == "wrong-output" and "outputs" in reply:
            reply["outputs"] = _flip_hex(reply["outputs"])
        elif hit and mode == "no-envelope":
            reply = {k: v for k, v in reply.items() if k not in ("type", "id")}
        write(json.dumps(reply))
        if held is not None:
            write(held)
            held = None


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "Enc")
