"""Test vectors as runnable cases (format contract: vectors/README.md).

A case is one operation test or one transcript, turned into the operation
requests the runner sends and what each answer must be. A test whose own data
is malformed becomes a case with a `problem`: the runner reports it as an
error verdict instead of guessing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from mpksa.encoding import Encoding
from mpksa.wire.codec import Json
from mpksa.wire.contract import encoding_to_json


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


def load(root: Traversable | Path | str | None = None) -> VectorSet:
    """Read every vector file under root (default: the shipped vectors), in path order."""
    base: Traversable = shipped_root() if root is None else Path(root) if isinstance(root, str) else root
    found = VectorSet(str(base))
    for relative, entry in sorted(_json_files(base, ""), key=lambda item: item[0]):
        try:
            data = json.loads(entry.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            found.problems.append(f"{relative}: not readable JSON ({exc})")
            continue
        if not (isinstance(data, dict) and data.get("algorithm") == "MPKSA" and "testGroups" in data):
            continue  # not a vector file (schemas, notes, manifest)
        found.files.append(relative)
        found.cases.extend(cases_of_file(relative, data))
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
        data = json.loads(manifest.read_text("utf-8"))
    except ValueError as exc:
        return [f"manifest.json: not JSON ({exc})"]
    problems = []
    for relative, digest in _manifest_entries(data):
        entry = base
        for part in relative.split("/"):
            entry = entry.joinpath(part)
        if not entry.is_file():
            problems.append(f"manifest.json lists {relative}, which is missing")
        elif hashlib.sha256(entry.read_bytes()).hexdigest() != digest:
            problems.append(f"{relative}: SHA-256 differs from manifest.json")
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
    """Every test of one file; the group supplies params and encoding (vectors/README.md)."""
    parts = relative.removesuffix(".json").split("/")
    origin = _Origin(relative, str(data.get("profile", parts[0] if len(parts) > 2 else "?")),
                     str(data.get("parameterSet", parts[-2] if len(parts) > 1 else "?")),
                     str(data.get("family", parts[-1])))
    out = []
    for g, group in enumerate(data.get("testGroups") or []):
        tests = group.get("tests") or [] if isinstance(group, dict) else []
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
        return make(-1, "", (), "?", "?", problem=f"malformed vector: {where} is not an object")
    raw_id = test.get("tcId")
    tc_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else -1
    flags = tuple(str(f) for f in test.get("flags") or [])
    comment, result = str(test.get("comment", "")), str(test.get("result"))
    is_transcript = "operations" in test
    op = TRANSCRIPT if is_transcript else str(test.get("op", group.get("op", "?")))
    try:
        if tc_id < 0:
            raise ValueError(f"tcId {raw_id!r} is not an integer")
        if result not in RESULTS:
            raise ValueError(f"result {test.get('result')!r} is not one of {', '.join(RESULTS)}")
        if not isinstance(group.get("params"), dict):
            raise ValueError("its group has no params object")
        if is_transcript:
            steps = tuple(_step(origin.profile, group, s, f"operations[{k}]", "error" not in s)
                          for k, s in enumerate(test["operations"]))
            if not steps:
                raise ValueError("transcript has no operations")
        else:
            # An invalid operation test must fail even where the vector names no code.
            success = "error" not in test and result != "invalid"
            steps = (_step(origin.profile, group, dict(test, op=op), "test", success),)
    except (KeyError, TypeError, ValueError) as exc:
        return make(tc_id, comment, flags, result, op, problem=f"malformed vector: {exc}")
    return make(tc_id, comment, flags, result, op, steps)


def _step(profile: str, group: Json, step: Json, where: str, default_success: bool) -> Step:
    op = step["op"]
    if not isinstance(op, str):
        raise ValueError(f"{where}.op is not a string")
    if not isinstance(step.get("inputs"), dict):
        raise ValueError(f"{where}.inputs is not an object")
    encoding = group.get("encoding")
    request: Json = {"op": op, "profile": profile, "params": group["params"],
                     "encoding": encoding if isinstance(encoding, dict) else DEFAULT_ENCODING,
                     "inputs": step["inputs"]}
    error = step.get("error")
    code = error.get("code") if isinstance(error, dict) else error if isinstance(error, str) else None
    success = step.get("success", default_success) if where != "test" else default_success
    if not isinstance(success, bool):
        raise ValueError(f"{where}.success is not a boolean")
    outputs = step.get("outputs")
    if outputs is not None and not isinstance(outputs, dict):
        raise ValueError(f"{where}.outputs is not an object")
    return Step(op, str(step.get("actor", "")), request, success, outputs, code)


# -- selection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The filters of `mpksa conformance run`; an empty filter selects everything."""

    profiles: frozenset[str] = frozenset()
    ops: frozenset[str] = frozenset()
    parameter_sets: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    tc_ids: frozenset[int] = frozenset()
    test_ids: frozenset[str] = frozenset()

    def selects(self, case: Case) -> bool:
        return ((not self.profiles or case.profile in self.profiles)
                and (not self.ops or case.op in self.ops)
                and (not self.parameter_sets or case.parameter_set in self.parameter_sets)
                and (not self.flags or not self.flags.isdisjoint(case.flags))
                and (not (self.tc_ids or self.test_ids) or case.tc_id in self.tc_ids or case.test_id in self.test_ids))


def parse_tc_filter(values: Iterable[str]) -> tuple[frozenset[int], frozenset[str]]:
    """`--tc 7`, `--tc 3-9,12`, or a full test id `v1/v1-test-512/enc#7`."""
    numbers: set[int] = set()
    ids: set[str] = set()
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if "#" in item:
                ids.add(item)
            elif "-" in item.strip("-"):
                low, high = item.split("-", 1)
                numbers.update(range(int(low), int(high) + 1))
            elif item:
                numbers.add(int(item))
    return frozenset(numbers), frozenset(ids)


def split_values(values: Sequence[str] | None) -> frozenset[str]:
    """Repeated and comma-separated option values as one set."""
    return frozenset(v.strip() for value in values or () for v in value.split(",") if v.strip())
