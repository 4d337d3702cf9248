"""Building vector files: requests through `mpksa.ops.handle`, canonical JSON.

A test is written only after the reference has answered it, and only if the
answer is the one the generator meant to produce (`expect`): a change in the
reference that alters a vector's meaning stops the generator instead of
silently shipping a vector that tests something else.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import mpksa
from mpksa import ops
from mpksa.wire.codec import Json
from mpksa.wire.contract import encoding_to_json, params_to_json
from mpksa.encoding import Encoding
from mpksa.params import Params

from .flags import registry


GENERATOR_VERSION = "mpksa-vectors 2"
OPERATION_SCHEMA = "operation.schema.json"
TRANSCRIPT_SCHEMA = "transcript.schema.json"
MANIFEST_SCHEMA = "manifest.schema.json"
VALID, INVALID, ACCEPTABLE = "valid", "invalid", "acceptable"


class GeneratorError(Exception):
    """The reference answered a request otherwise than the generator intended."""


def canonical_json(data: Any) -> str:
    """The one serialization of every vector file: sorted keys, indent 1, ASCII, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=True, allow_nan=False) + "\n"


def request(params: Params, encoding: Encoding, op: str, inputs: Json) -> Json:
    """An operation request of `mpksa.ops` (spec ch. 6)."""
    return {"op": op, "profile": params.profile, "params": params_to_json(params),
            "encoding": encoding_to_json(encoding), "inputs": inputs}


def run(params: Params, encoding: Encoding, op: str, inputs: Json, expect: str | None) -> Json:
    """ops.handle on one request; `expect` is None (success) or the error code it must fail with."""
    answer = ops.handle(request(params, encoding, op, inputs))
    got = answer["error"]["code"] if "error" in answer else None
    if got != expect:
        detail = answer["error"]["message"] if "error" in answer else "outputs"
        raise GeneratorError(f"{op} on {params.name}: expected {expect or 'success'}, got {got or 'success'} ({detail})")
    return answer


@dataclass
class Group:
    """A test group: explicit params and encoding shared by its tests."""

    params: Params
    encoding: Encoding
    comment: str
    owner: VectorFile
    tests: list[Json] = field(default_factory=list)

    def op(self, op: str, inputs: Json, comment: str, flags: Iterable[str], *, expect: str | None = None,
           result: str | None = None, intermediates: Json | None = None) -> Json:
        """Add one operation test answered by the reference; returns the answer's outputs (or {})."""
        inputs = copy.deepcopy(inputs)  # the caller may reuse and change its lists afterwards
        answer = run(self.params, self.encoding, op, inputs, expect)
        test: Json = {"tcId": self.owner.next_id(), "comment": comment, "flags": sorted(set(flags)), "op": op,
                      "inputs": inputs}
        if "error" in answer:
            test["error"] = answer["error"]["code"]
            test["result"] = result or INVALID
        else:
            test["outputs"] = answer["outputs"]
            test["result"] = result or VALID
        extra = self.owner.intermediates(self.params, self.encoding, op, inputs, answer.get("outputs"))
        merged = {**extra, **(intermediates or {})}
        if merged:
            test["intermediates"] = merged
        self._check_result(test)
        self.owner.flags_used.update(test["flags"])
        self.tests.append(test)
        return answer.get("outputs", {})

    def transcript(self, test: Json) -> None:
        """Add one transcript test built by `transcripts.walk`."""
        test = {"tcId": self.owner.next_id(), **copy.deepcopy(test), "flags": sorted(set(test["flags"]))}
        self.owner.flags_used.update(test["flags"])
        self.tests.append(test)

    @staticmethod
    def _check_result(test: Json) -> None:
        if test["result"] == INVALID and "error" not in test:
            raise GeneratorError(f"test {test['tcId']} ({test['comment']}) is invalid but the reference accepted it")
        if not test["flags"]:
            raise GeneratorError(f"test {test['tcId']} ({test['comment']}) has no flag")

    def as_json(self) -> Json:
        return {"comment": self.comment, "params": params_to_json(self.params),
                "encoding": encoding_to_json(self.encoding), "tests": self.tests}


@dataclass
class VectorFile:
    """One file `<profile>/<parameter-set>/<family>.json`."""

    profile: str
    parameter_set: str
    family: str
    schema: str
    header: list[str]
    intermediates_fn: Any = None
    groups: list[Group] = field(default_factory=list)
    flags_used: set[str] = field(default_factory=set)
    _count: int = 0

    @property
    def path(self) -> str:
        return f"{self.profile}/{self.parameter_set}/{self.family}.json"

    def next_id(self) -> int:
        self._count += 1
        return self._count

    def group(self, params: Params, encoding: Encoding, comment: str) -> Group:
        group = Group(params, encoding, comment, self)
        self.groups.append(group)
        return group

    def intermediates(self, params: Params, encoding: Encoding, op: str, inputs: Json, outputs: Json | None) -> Json:
        return self.intermediates_fn(params, encoding, op, inputs, outputs) if self.intermediates_fn else {}

    @property
    def number_of_tests(self) -> int:
        return sum(len(g.tests) for g in self.groups)

    def as_json(self) -> Json:
        groups = [g for g in self.groups if g.tests]
        return {
            "algorithm": "MPKSA",
            "schema": self.schema,
            "specVersion": mpksa.SPEC_VERSION,
            "generatorVersion": GENERATOR_VERSION,
            "profile": self.profile,
            "parameterSet": self.parameter_set,
            "family": self.family,
            "numberOfTests": self.number_of_tests,
            "header": self.header,
            "notes": registry(self.flags_used),
            "testGroups": [g.as_json() for g in groups],
        }
