"""Test vectors as runnable cases (format contract: vectors/README.md).

A case is one operation test or one transcript, turned into the operation
requests the runner sends and what each answer must be. A test whose own data
is malformed becomes a case with a `problem`: the runner reports it as an
error verdict instead of guessing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from mpksa.encoding import Encoding
from mpksa.errors import MalformedInputError
from mpksa.wire import untrusted
from mpksa.wire.untrusted import strict_json
from mpksa.wire.codec import Json
from mpksa.wire.contract import encoding_to_json

from .protocol import json_type

TRANSCRIPT = "transcript"
RESULTS = ("valid", "invalid", "acceptable")
_SKIPPED_NAMES = {"manifest.json"}
# A group without an encoding object uses the spec's default settings (ops.context does the same).
DEFAULT_ENCODING = encoding_to_json(Encoding())
_SKIPPED_DIRS = {"schema", "__pycache__"}


@dataclass(frozen=True)
class Step:
    """One request and the answer it must get: outputs (success) or an error code (failure)."""

    op: str
    actor: str
    request: Json
    success: bool
    outputs: Json | None
    error_code: str | None


@dataclass(frozen=True)
class Case:
    test_id: str
    file: str
    profile: str
    parameter_set: str
    family: str
    tc_id: int
    comment: str
    flags: tuple[str, ...]
    result: str
    op: str  # the operation, or "transcript"
    steps: tuple[Step, ...] = ()
    problem: str | None = None

    @property
    def operations(self) -> list[str]:
        return sorted({step.op for step in self.steps})


@dataclass
class VectorSet:
    """Every case under one vectors root, with what was found wrong with the files themselves."""

    root: str
    cases: list[Case] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def shipped_root() -> Traversable:
    """The vectors shipped as package data of `mpksa.vectors`."""
    return resources.files("mpksa.vectors")


class VectorFileError(MalformedInputError):
    """A vectors folder that cannot be read (missing, not a folder), named with the rule it breaks."""


def load(root: Traversable | Path | str | None = None) -> VectorSet:
    """Read every vector file under root (default: the shipped vectors), in path order.

    A file that is not strict JSON, or not shaped like a vector file, becomes one
    line in `problems` naming the file and the rule; its well-formed tests still run.
    """
    base: Traversable = shipped_root() if root is None else Path(root) if isinstance(root, str) else root
    if not base.is_dir():
        what = "is a file, not a folder" if base.is_file() else "does not exist"
        raise VectorFileError(f"vectors folder {untrusted.text(str(base), 400)} {what}")
    found = VectorSet(str(base))
    for relative, entry in sorted(_json_files(base, ""), key=lambda item: item[0]):
        try:
            data = strict_json(entry.read_bytes())
        except (OSError, ValueError) as exc:
            found.problems.append(f"{relative}: not strict JSON ({untrusted.text(exc, 300)})")
            continue
        if not (isinstance(data, dict) and data.get("algorithm") == "MPKSA" and "testGroups" in data):
            continue  # not a vector file (schemas, notes, manifest)
        found.files.append(relative)
        try:
            found.cases.extend(cases_of_file(relative, data))
        except VectorFileError as exc:
            found.problems.append(f"{relative}: {exc}")
    found.problems.extend(_manifest_problems(base))
    return found


def _json_files(node: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for entry in node.iterdir():
        name = entry.name
        if entry.is_dir():
            if name not in _SKIPPED_DIRS and not name.startswith("."):
                yield from _json_files(entry, f"{prefix}{name}/")
        elif name.endswith(".json") and name not in _SKIPPED_NAMES:
            yield f"{prefix}{name}", entry


def _manifest_problems(base: Traversable) -> list[str]:
    """manifest.json lists the SHA-256 of every vector file; a mismatch means a changed or stale file."""
    manifest = base.joinpath("manifest.json")
    if not manifest.is_file():
        return []
    try:
        data = strict_json(manifest.read_bytes())
    except (OSError, ValueError) as exc:
        return [f"manifest.json: not strict JSON ({untrusted.text(exc, 300)})"]
    problems = []
    for relative, digest in _manifest_entries(data):
        entry = base
        for part in relative.split("/"):
            entry = entry.joinpath(part)
        try:
            if not entry.is_file():
                problems.append(f"manifest.json lists {untrusted.text(relative, 300)}, which is missing")
            elif hashlib.sha256(entry.read_bytes()).hexdigest() != digest:
                problems.append(f"{relative}: SHA-256 differs from manifest.json")
        except (OSError, ValueError) as exc:
            problems.append(f"manifest.json lists {untrusted.text(relative, 300)}, which cannot be read ({exc})")
    return problems


def _manifest_entries(data: Any) -> Iterator[tuple[str, str]]:
    """Accept {"files": {path: sha}} , {"files": [{"path", "sha256"}]} or a flat {path: sha}."""
    files = data.get("files", data) if isinstance(data, dict) else data
    if isinstance(files, dict):
        for path, value in files.items():
            digest = value.get("sha256") if isinstance(value, dict) else value
            if isinstance(path, str) and isinstance(digest, str) and path.endswith(".json"):
                yield path, digest
    elif isinstance(files, list):
        for item in files:
            if isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("sha256"), str):
                yield item["path"], item["sha256"]


@dataclass(frozen=True)
class _Origin:
    """Where a test comes from: its file and what the file covers."""

    file: str
    profile: str
    parameter_set: str
    family: str

    @property
    def prefix(self) -> str:
        return f"{self.profile}/{self.parameter_set}/{self.family}"


def cases_of_file(relative: str, data: Json) -> list[Case]:
    """Every test of one file; the group supplies params and encoding (vectors/README.md).

    Raises VectorFileError when the file itself is not shaped like a vector file;
    a malformed test becomes a case with a `problem` instead.
    """
    parts = relative.removesuffix(".json").split("/")
    defaults = {"profile": parts[0] if len(parts) > 2 else "?", "parameterSet": parts[-2] if len(parts) > 1 else "?",
                "family": parts[-1]}
    for key in defaults:
        if not isinstance(data.get(key, ""), str):
            raise VectorFileError(f"{key} must be a string, got {json_type(data[key])}")
    origin = _Origin(relative, *(data.get(key, default) for key, default in defaults.items()))
    groups = data.get("testGroups")
    if not isinstance(groups, list):
        raise VectorFileError(f"testGroups must be a list, got {json_type(groups)}")
    out = []
    for g, group in enumerate(groups):
        if not isinstance(group, dict):
            raise VectorFileError(f"testGroups[{g}] must be an object, got {json_type(group)}")
        tests = group.get("tests")
        if not isinstance(tests, list):
            raise VectorFileError(f"testGroups[{g}].tests must be a list, got {json_type(tests)}")
        for t, test in enumerate(tests):
            out.append(_case(origin, group, test, f"testGroups[{g}].tests[{t}]"))
    return out


def _case(origin: _Origin, group: Json, test: Any, where: str) -> Case:
    def make(tc_id: int, comment: str, flags: tuple[str, ...], result: str, op: str, steps: tuple[Step, ...] = (),
             problem: str | None = None) -> Case:
        test_id = f"{origin.prefix}#{tc_id if tc_id >= 0 else where}"
        return Case(test_id, origin.file, origin.profile, origin.parameter_set, origin.family, tc_id, comment, flags,
                    result, op, steps, problem)

    if not isinstance(test, dict):
        return make(-1, "", (), "?", "?", problem=f"malformed vector: {where} must be an object, got {json_type(test)}")
    raw_id = test.get("tcId")
    tc_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) and raw_id >= 0 else -1
    flags, comment, result = test.get("flags", []), test.get("comment", ""), test.get("result")
    is_transcript = "operations" in test
    op = TRANSCRIPT if is_transcript else test.get("op", group.get("op", "?"))
    shown = (comment if isinstance(comment, str) else "", tuple(flags) if _strings(flags) else (),
             result if isinstance(result, str) else "?", op if isinstance(op, str) else "?")
    try:
        if tc_id < 0:
            raise ValueError(f"tcId {untrusted.text(repr(raw_id), 60)} is not a non-negative integer")
        if not _strings(flags):
            raise ValueError(f"flags must be a list of strings, got {json_type(flags)}")
        if not isinstance(comment, str):
            raise ValueError(f"comment must be a string, got {json_type(comment)}")
        if result not in RESULTS:
            raise ValueError(f"result {untrusted.text(repr(result), 60)} is not one of {', '.join(RESULTS)}")
        if not isinstance(group.get("params"), dict):
            raise ValueError("its group has no params object")
        if is_transcript:
            operations = test["operations"]
            if not isinstance(operations, list) or not operations:
                raise ValueError(f"operations must be a non-empty list, got {json_type(operations)}")
            steps = tuple(_step(origin.profile, group, s, f"operations[{k}]", "error" not in s)
                          for k, s in enumerate(operations))
        else:
            # An invalid operation test must fail even where the vector names no code.
            success = "error" not in test and result != "invalid"
            steps = (_step(origin.profile, group, dict(test, op=op), "test", success),)
    except (KeyError, TypeError, ValueError) as exc:
        return make(tc_id, *shown, problem=f"malformed vector: {exc}")
    return make(tc_id, *shown, steps)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _step(profile: str, group: Json, step: Any, where: str, default_success: bool) -> Step:
    if not isinstance(step, dict):
        raise ValueError(f"{where} must be an object, got {json_type(step)}")
    op = step.get("op")
    if not isinstance(op, str):
        raise ValueError(f"{where}.op must be a string, got {json_type(op)}")
    if not isinstance(step.get("inputs"), dict):
        raise ValueError(f"{where}.inputs must be an object, got {json_type(step.get('inputs'))}")
    encoding = group.get("encoding")
    request: Json = {"op": op, "profile": profile, "params": group["params"],
                     "encoding": encoding if isinstance(encoding, dict) else DEFAULT_ENCODING,
                     "inputs": step["inputs"]}
    error = step.get("error")
    code = error.get("code") if isinstance(error, dict) else error if isinstance(error, str) else None
    if code is not None and not isinstance(code, str):
        raise ValueError(f"{where}.error.code must be a string, got {json_type(code)}")
    success = step.get("success", default_success) if where != "test" else default_success
    if not isinstance(success, bool):
        raise ValueError(f"{where}.success must be a boolean, got {json_type(success)}")
    outputs = step.get("outputs")
    if outputs is not None and not isinstance(outputs, dict):
        raise ValueError(f"{where}.outputs must be an object, got {json_type(outputs)}")
    actor = step.get("actor", "")
    if not isinstance(actor, str):
        raise ValueError(f"{where}.actor must be a string, got {json_type(actor)}")
    return Step(op, actor, request, success, outputs, code)


# -- selection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The filters of `mpksa conformance run`; an empty filter selects everything.

    tcIds are numbered per vector file: a number selects that test in every selected
    file; a test id (`v1/v1-test-512/enc#7`) or a number with one file selects one test.
    """

    profiles: frozenset[str] = frozenset()
    ops: frozenset[str] = frozenset()
    parameter_sets: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    tc_ids: frozenset[int] = frozenset()
    test_ids: frozenset[str] = frozenset()

    def selects(self, case: Case) -> bool:
        return ((not self.profiles or case.profile in self.profiles)
                and (not self.ops or case.op in self.ops)
                and (not self.parameter_sets or case.parameter_set in self.parameter_sets)
                and (not self.files or case.file in self.files)
                and (not self.flags or not self.flags.isdisjoint(case.flags))
                and (not (self.tc_ids or self.test_ids) or case.tc_id in self.tc_ids or case.test_id in self.test_ids))


def names(cases: Iterable[Case]) -> dict[str, set[str]]:
    """What each filter can name in these cases: profile, op, params, file, flag, tc (test ids)."""
    found: dict[str, set[str]] = {key: set() for key in ("profile", "op", "params", "file", "flag", "tc")}
    for case in cases:
        found["profile"].add(case.profile)
        found["op"].add(case.op)
        found["params"].add(case.parameter_set)
        found["file"].add(case.file)
        found["flag"].update(case.flags)
        found["tc"].add(case.test_id)
    return found


_MAX_TC_RANGE = 100_000


def parse_tc_filter(values: Iterable[str]) -> tuple[frozenset[int], frozenset[str]]:
    """`--tc 7`, `--tc 3-9,12`, or a full test id `v1/v1-test-512/enc#7`; ValueError says what is wrong."""
    numbers: set[int] = set()
    ids: set[str] = set()
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if "#" in item:
                ids.add(item)
                continue
            if not item:
                continue
            low, sep, high = item.partition("-")
            if not (low.isdigit() and (not sep or high.isdigit())):
                raise ValueError(f"--tc {item!r}: expected a tcId (7), a range (3-9) or a test id "
                                 "(v1/v1-test-512/enc#7)")
            first, last = int(low), int(high) if sep else int(low)
            if not first <= last <= first + _MAX_TC_RANGE:
                raise ValueError(f"--tc {item!r}: a range runs from low to high, at most {_MAX_TC_RANGE} ids")
            numbers.update(range(first, last + 1))
    return frozenset(numbers), frozenset(ids)


def split_values(values: Sequence[str] | None) -> frozenset[str]:
    """Repeated and comma-separated option values as one set."""
    return frozenset(v.strip() for value in values or () for v in value.split(",") if v.strip())
