"""The reference behind the conformance protocol on stdin/stdout: `python -m mpksa.conformance.reference_server`.

A template for implementers (spec chapter 9): read one JSON line, answer one
JSON line, flush, repeat until stdin closes. Logs go to stderr, never stdout.
Replace `mpksa.ops.handle` with your own dispatch and you are done.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from mpksa import ops
from mpksa.wire.contract import PROTOCOL



def capabilities() -> dict[str, Any]:
    """What this implementation supports: here, everything the reference does."""
    declared = ops.REFERENCE.capabilities()
    return {"type": "capabilities", "protocol": PROTOCOL, "name": declared["name"],
            "profiles": declared["profiles"], "parameterSets": "*", "operations": declared["operations"]}


def answer(message: Any) -> dict[str, Any]:
    """One answer per message: capabilities, or a response carrying the request's id."""
    if isinstance(message, dict) and message.get("type") == "capabilities":
        return capabilities()
    if not (isinstance(message, dict) and message.get("type") == "request"):
        return {"type": "response", "id": None,
                "error": {"code": "malformed-input", "message": "expected a capabilities or request message"}}
    request = {k: v for k, v in message.items() if k not in ("type", "id")}
    return {"type": "response", "id": message.get("id"), **ops.handle(request)}


def serve(stdin: TextIO, stdout: TextIO) -> None:
    for line in stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        stdout.write(json.dumps(answer(message), separators=(",", ":")) + "\n")
        stdout.flush()  # the runner waits for each line: never leave one in a buffer


def main() -> int:
    serve(sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
