"""Fuzz targets: the readers of everything that comes from outside (issue 14).

Each target takes the bytes an attacker controls and checks the property every
reader must keep: it returns or raises its own typed error, never anything else,
and never hands back something the next stage cannot use. A broken property
raises `Finding`; any other exception escaping a target is a finding too.

  handle     a request line for `mpksa.ops.handle`: it never raises, answers exactly one of
             outputs/error with a registered code, the answer is strict JSON, and no error
             message repeats a secret input (sk, alpha(s), r1, r2)
  params     `mpksa.wire.contract.params_from_json`: returns params or raises MpksaError
  encoding   `mpksa.wire.contract.encoding_from_json`: returns an Encoding or raises MpksaError
  vectors    a vector file, read by the runner (`conformance.cases`) and by `vectors verify`:
             problems are reported, never raised
  manifest   a manifest.json, read by both: problems are reported, never raised
  wire       a line from an implementation: the runner's parser raises ImplementationFault only,
             and whatever it accepts is rendered in every report format as escaped, bounded text

Used by tests/test_fuzz.py (hypothesis, short, in the default run) and by
tests/fuzz/run.py (atheris, for longer campaigns).
"""

from __future__ import annotations

import json
import random
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from mpksa import ops
from mpksa.conformance import cases as vector_cases
from mpksa.conformance import report as reports
from mpksa.conformance.protocol import ImplementationFault, parse_answer, parse_capabilities, parse_line
from mpksa.conformance.runner import FAIL, ImplementationReport, Job, TestResult, judge_step
from mpksa.errors import ERROR_CLASSES, MpksaError
from mpksa.vectors import verify
from mpksa.wire.untrusted import strict_json
from mpksa.wire import contract

SECRET_INPUTS = ("sk", "alpha", "alphas", "r1", "r2")
SECRET_SHOWN = 16  # this many leading characters of a secret in a message count as echoing it

# Findings in reference/ that are reported and not yet fixed: a campaign counts them (one reproducer
# each) and goes on instead of stopping. Both findings of issue 14 (secrets echoed in messages,
# Decode allocating by dim) are fixed; tests/test_fuzz.py keeps a regression test for each.
KNOWN_FINDINGS: dict[str, str] = {}


class Finding(AssertionError):
    """A reader broke its property; `kind` groups findings of one cause."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"[{kind}] {detail}")
        self.kind = kind


# -- handle --------------------------------------------------------------------------------------


def check_handle(data: bytes) -> None:
    """One request line through `ops.handle`."""
    request = _json(data)
    answer = ops.handle(request)
    if not isinstance(answer, dict) or len(answer) != 1 or not {"outputs", "error"} & set(answer):
        raise Finding("answer-shape", f"answer {str(answer)[:200]}")
    try:
        json.dumps(answer, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise Finding("answer-not-json", f"{exc}") from None
    error = answer.get("error")
    if error is None:
        if not isinstance(answer["outputs"], dict):
            raise Finding("answer-shape", "outputs is not an object")
        return
    if not (isinstance(error, dict) and error.get("code") in ERROR_CLASSES and isinstance(error.get("message"), str)):
        raise Finding("answer-shape", f"error {str(error)[:200]}")
    if isinstance(request, dict):
        public = json.dumps(request.get("params")).lower()  # a vector may use q itself as an out-of-range secret
        message = error["message"].lower()
        for secret in _secrets(request):
            key = secret.lower().removeprefix("0x")[:SECRET_SHOWN]
            if key in message and key not in public:
                raise Finding("secret-echo", f"{error['code']}: {error['message'][:200]}")


def _secrets(request: dict[str, Any]) -> Iterator[str]:
    inputs = request.get("inputs")
    if not isinstance(inputs, dict):
        return
    for key in SECRET_INPUTS:
        values = inputs.get(key)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and _key_material(value):
                yield value


def _key_material(value: str) -> bool:
    """Hex of some length and variety, in any case, with or without 0x: what a leaked secret looks like.
    ("0000...", "NaN" or "-Infinity" also appear in messages about other fields, and mean nothing.)"""
    digits = value.lower().removeprefix("0x")
    return len(digits) >= SECRET_SHOWN and len(set(digits[:SECRET_SHOWN])) >= 6 and \
        all(ch in _HEX for ch in digits[:SECRET_SHOWN])


# -- params and encoding -------------------------------------------------------------------------


def check_params(data: bytes) -> None:
    _typed_or_value(lambda value: contract.params_from_json(value), data, "params_from_json")


def check_encoding(data: bytes) -> None:
    _typed_or_value(lambda value: contract.encoding_from_json(value), data, "encoding_from_json")


def _typed_or_value(read: Callable[[Any], Any], data: bytes, what: str) -> None:
    value = _json(data)
    try:
        read(value)
    except MpksaError:
        pass
    except Exception as exc:
        raise Finding(f"{what}-untyped", f"{type(exc).__name__}: {str(exc)[:200]}") from exc


# -- vector files and the manifest ---------------------------------------------------------------

_RELATIVE = "v1/v1-test-512/keys.json"


def check_vectors(data: bytes) -> None:
    """A vector file as the runner reads it and as `vectors verify` checks it (with recomputation)."""
    try:
        parsed = strict_json(data)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        try:
            found = vector_cases.cases_of_file(_RELATIVE, parsed)
        except vector_cases.VectorFileError:
            found = []
        for case in found:
            if (case.problem is None) == (not case.steps):
                raise Finding("case-shape", f"{case.test_id}: problem {case.problem!r} with {len(case.steps)} steps")
    report = verify.Report()
    ok, value = verify.parse_file(_RELATIVE, data, report)
    if ok:
        verify.check_file(_RELATIVE, data, value, _validators(), report, recompute=True)
    _one_line_problems(report.problems)


def check_manifest(data: bytes) -> None:
    """A manifest.json next to one real vector file, read by the runner and checked by verify."""
    with tempfile.TemporaryDirectory(prefix="mpksa-fuzz-") as folder:
        root = Path(folder)
        (root / "manifest.json").write_bytes(data)
        (root / "v1" / "v1-test-512").mkdir(parents=True)
        raw = _shipped(_RELATIVE)
        (root / _RELATIVE).write_bytes(raw)
        found = vector_cases.load(root)
        report = verify.Report()
        verify.check_manifest(root, {_RELATIVE: raw}, {_RELATIVE: json.loads(raw)}, _validators(), report)
        _one_line_problems(found.problems + report.problems)


def _one_line_problems(problems: list[str]) -> None:
    for problem in problems:
        if not isinstance(problem, str):
            raise Finding("problem-shape", repr(problem)[:200])


@cache
def _validators() -> dict[str, Any]:
    report = verify.Report()
    found = verify.load_schemas(verify.shipped_root(), report)
    assert not report.problems, report.problems
    return found


@cache
def _shipped(relative: str) -> bytes:
    return verify.shipped_root().joinpath(*relative.split("/")).read_bytes()


# -- the wire --------------------------------------------------------------------------------------


def check_wire(data: bytes) -> None:
    """One line from an implementation: parsed strictly, judged, and shown in every report format."""
    line = data.decode("utf-8", "replace")  # as the subprocess session decodes it
    try:
        message = parse_line(line)
    except ImplementationFault as fault:
        _render(str(fault), None)
        return
    for parse in (lambda: parse_answer(message, expected_id=1), lambda: parse_answer(message, expected_id=None),
                  lambda: parse_capabilities(message, wire=True), lambda: parse_capabilities(message, wire=False)):
        try:
            parsed = parse()
        except ImplementationFault as fault:
            _render(str(fault), None)
            continue
        if hasattr(parsed, "outputs"):
            verdict = judge_step(Job(_case(), "accept"), _case().steps[0], parsed)
            _render(verdict.reason if verdict else "", message, verdict)
        else:
            parsed.unknown_names()
            parsed.difference(parsed)
            _render(parsed.name, message, capabilities=parsed)


@cache
def _case() -> vector_cases.Case:
    return next(c for c in _shipped_cases().cases if c.file == _RELATIVE and c.op == "KeyGen")


@cache
def _shipped_cases() -> vector_cases.VectorSet:
    return vector_cases.load()


def _render(reason: str, got: Any, verdict: TestResult | None = None, capabilities: Any = None) -> None:
    """Every report format must take the text: JSON valid and bounded, XML well formed, terminal clean."""
    from io import StringIO

    from rich.console import Console

    result = verdict or TestResult(_case(), FAIL, reason, "outputs.pk", "00", got)
    report = ImplementationReport(reason[:50], capabilities, [result], problem=reason, notes=[reason])
    text = json.dumps(reports.report_json([report], "fuzz", {}, 1), allow_nan=False)
    if len(text) > 200_000:
        raise Finding("report-unbounded", f"JSON report of {len(text)} characters")
    ET.fromstring(ET.tostring(reports.junit_xml([report]).getroot()))
    out = StringIO()
    reports.print_summary(Console(file=out, width=120), report)
    shown = out.getvalue()
    if any(ch in shown for ch in "\x00\x1b\x07\u202e\uffff") or any(0xD800 <= ord(ch) < 0xE000 for ch in shown):
        raise Finding("terminal-raw", repr(shown[:200]))
    if len(shown) > 100_000:
        raise Finding("report-unbounded", f"terminal output of {len(shown)} characters")


# -- structural mutation (shared by the hypothesis tests and the atheris custom mutator) ----------

_HEX = "0123456789abcdef"
_LEAVES: tuple[Any, ...] = (None, True, False, 0, 1, -1, 2, 2**31, 2**32 - 1, 2**32, 2**63, 2**64, -(2**63), 10**30,
                            0.5, -0.0, 1e308, 2.0**-1074, "", "0", "00", "NaN", "Infinity", "-Infinity", "0x00",
                            [], {}, [[]], {"": None})


def mutate(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """A few structural changes to a JSON document (replace, drop, duplicate a node; change the case of
    a string, prefix 0x, cut or grow it), sometimes a byte-level change on top; bytes that are not
    JSON get byte-level changes only."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return _mutate_bytes(data, rng)
    for _ in range(rng.randint(1, rounds)):
        paths = _paths(value)
        # A request's inputs are where the operations differ; params mostly end at the first check.
        focus = [path for path in paths if path[:1] == ("inputs",)]
        value = _mutate_node(value, rng.choice(focus if focus and rng.random() < 0.7 else paths), rng)
    out = json.dumps(value, separators=(",", ":")).encode()
    return _mutate_bytes(out, rng) if rng.random() < 0.15 else out


def _paths(value: Any, path: tuple[Any, ...] = (), limit: int = 400) -> list[tuple[Any, ...]]:
    found = [path]
    children = value.items() if isinstance(value, dict) else enumerate(value[:16]) if isinstance(value, list) else ()
    for key, item in children:
        if len(found) >= limit:
            break
        found += _paths(item, (*path, key), limit - len(found))
    return found


def _node(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


def _mutate_node(value: Any, path: tuple[Any, ...], rng: random.Random) -> Any:
    node = _node(value, path)
    action = rng.choice(("leaf", "leaf", "drop", "duplicate", "string", "string", "number", "nest"))
    if action == "drop" and path:
        container, key = _node(value, path[:-1]), path[-1]
        shrunk = ({k: v for k, v in container.items() if k != key} if isinstance(container, dict)
                  else container[:key] + container[key + 1:])
        return _replace(value, path[:-1], shrunk)
    if action == "duplicate" and isinstance(node, list) and node:
        return _replace(value, path, node + [rng.choice(node)] * rng.choice((1, 1, 2, 50)))
    if action == "string" and isinstance(node, str):
        changed = rng.choice((node.upper(), "0x" + node, node[:-1], node[:-2], node + rng.choice(_HEX),
                              node + node[:2], node[: len(node) // 2], "0" * len(node), "f" * len(node),
                              node[::-1], " " + node))
        return _replace(value, path, changed)
    if action == "number" and isinstance(node, int | float) and not isinstance(node, bool):
        as_float = float(node) if abs(node) < 1e300 else 0.5
        return _replace(value, path, rng.choice((node + 1, node - 1, -node, node * 2**32, 0, as_float)))
    if action == "nest":
        return _replace(value, path, rng.choice(([node], {"x": node}, [node, node])))
    leaf = rng.choice(_LEAVES)
    if rng.random() < 0.3:
        leaf = "".join(rng.choice(_HEX) for _ in range(rng.choice((1, 2, 31, 32, 63, 64, 127, 128, 129, 256, 512))))
    return _replace(value, path, leaf)


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    at = rng.randrange(len(data))
    return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 4))) + data[at + rng.randint(0, 4):]


# -- shared --------------------------------------------------------------------------------------


def _json(data: bytes) -> Any:
    """Bytes as JSON the way a lenient reader would take them (so the target sees odd values too)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data.decode("utf-8", "replace")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "handle": check_handle, "params": check_params, "encoding": check_encoding, "vectors": check_vectors,
    "manifest": check_manifest, "wire": check_wire,
}


@cache
def seeds(target: str, limit: int = 400) -> list[bytes]:
    """A starting corpus from the shipped vectors: real requests, params, encodings, files, answers."""
    shipped = _shipped_cases()
    requests = [step.request for case in shipped.cases for step in case.steps]
    if target == "handle":
        chosen = requests[:: max(1, len(requests) // limit)]
        return [json.dumps(r, separators=(",", ":")).encode() for r in chosen]
    if target == "params":
        return sorted({json.dumps(r["params"], sort_keys=True).encode() for r in requests})
    if target == "encoding":
        return sorted({json.dumps(r["encoding"], sort_keys=True).encode() for r in requests})
    if target == "vectors":
        return [_shipped(f) for f in shipped.files if len(_shipped(f)) < 30_000]
    if target == "manifest":
        return [_shipped("manifest.json")[:20_000]]
    if target == "wire":
        answers = [ops.handle(r) for r in requests[:: max(1, len(requests) // limit)]]
        return [json.dumps({"type": "response", "id": 1, **a}).encode() for a in answers] + [
            json.dumps({"type": "capabilities", "protocol": "mpksa-conformance/1", "name": "x", "profiles": ["v1"],
                        "parameterSets": "*", "operations": ["KeyGen"]}).encode()]
    raise KeyError(target)
