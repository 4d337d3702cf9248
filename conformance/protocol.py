"""The conformance protocol `mpksa-conformance/1` (spec chapter 9).

An implementation under test is a process that reads JSON lines on stdin and
writes JSON lines on stdout, or a Python object with `capabilities()` and
`handle(request)`. The runner sends

    {"type": "capabilities", "protocol": PROTOCOL}
    {"type": "request", "id": N, "op", "profile", "params", "encoding", "inputs"}

and expects, in the same order,

    {"type": "capabilities", "protocol": PROTOCOL, "name", "profiles", "parameterSets", "operations"}
    {"type": "response", "id": N, "outputs": {...}}  or  {..., "error": {"code", "message"}}

The request body is exactly an operation request of the wire contract (`mpksa.wire.contract`, spec chapter 6).
The JSON Schemas of every message are in `schema/`; this module checks the
same rules by hand on the hot path, because a schema validation per answer
would cost more than most operations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mpksa.wire.untrusted import AmbiguousJson, strict_json
from mpksa.wire.codec import Json
from mpksa.wire.contract import OPERATIONS, PROFILE_NAMES, PROTOCOL

ALL_PARAMETER_SETS = "*"

SCHEMA_NAMES = ("capabilities-request", "capabilities-response", "request", "response", "report",
                "interop-report")


class ImplementationFault(Exception):
    """The implementation broke the protocol: crash, hang, garbage, wrong id, wrong shape.

    Its message is the reason shown in the verdict; it never contains secrets
    beyond what the vectors themselves publish.
    """


@dataclass(frozen=True)
class Answer:
    """One answer to one request: exactly one of `outputs` and `error` is set."""

    outputs: Json | None = None
    error: Json | None = None

    @property
    def code(self) -> str | None:
        return None if self.error is None else self.error.get("code")

    def as_json(self) -> Json:
        return {"outputs": self.outputs} if self.error is None else {"error": self.error}


@dataclass(frozen=True)
class Capabilities:
    """What an implementation declares it supports; only that is tested (ACVP-style registration)."""

    name: str
    profiles: frozenset[str]
    parameter_sets: frozenset[str] | None  # None: every parameter set ("*")
    operations: frozenset[str]

    def missing(self, profile: str, parameter_set: str, operations: list[str]) -> str | None:
        """Why a test over these is not supported, or None when it is."""
        if profile not in self.profiles:
            return f"profile {profile!r} not declared"
        if self.parameter_sets is not None and parameter_set not in self.parameter_sets:
            return f"parameter set {parameter_set!r} not declared"
        absent = sorted(set(operations) - self.operations)
        if absent:
            return f"operation{'s' if len(absent) > 1 else ''} {', '.join(absent)} not declared"
        return None

    def unknown_names(self) -> list[str]:
        """Declared names this runner does not know (a typo declares nothing), e.g. "operation 'keygen'"."""
        from mpksa.params import PARAMETER_SET_NAMES

        declared = (("profile", self.profiles, PROFILE_NAMES), ("operation", self.operations, OPERATIONS),
                    ("parameter set", self.parameter_sets or (), PARAMETER_SET_NAMES))
        return [f"{kind} {name!r}" for kind, names, known in declared for name in sorted(set(names) - set(known))]

    def difference(self, other: Capabilities) -> str:
        """What changed from self to other, field by field (for a restart that declares something else)."""
        changes = [f"name {self.name!r} -> {other.name!r}"] if self.name != other.name else []
        for field_name, before, after in (("profiles", self.profiles, other.profiles),
                                          ("parameterSets", self.parameter_sets, other.parameter_sets),
                                          ("operations", self.operations, other.operations)):
            if before == after:
                continue
            if before is None or after is None:
                changes.append(f"{field_name} {_names(before)} -> {_names(after)}")
                continue
            lost, gained = sorted(before - after), sorted(after - before)
            changes.append(f"{field_name}" + (f" lost {', '.join(map(repr, lost))}" if lost else "")
                           + (";" if lost and gained else "") + (f" gained {', '.join(map(repr, gained))}" if gained else ""))
        return "; ".join(changes) or "no field changed"

    def as_json(self) -> Json:
        return {"name": self.name, "profiles": sorted(self.profiles),
                "parameterSets": ALL_PARAMETER_SETS if self.parameter_sets is None else sorted(self.parameter_sets),
                "operations": sorted(self.operations)}


def _names(names: frozenset[str] | None) -> str:
    return repr(ALL_PARAMETER_SETS) if names is None else "[" + ", ".join(map(repr, sorted(names))) + "]"


def capabilities_request() -> Json:
    return {"type": "capabilities", "protocol": PROTOCOL}


def request_message(request_id: int, request: Json) -> Json:
    """The wire form of an operation request: the contract's request plus type and id."""
    return {"type": "request", "id": request_id, **request}


def _string_list(value: object, field: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImplementationFault(f"capabilities field {field!r} must be a list of strings, got {_preview(value)}")
    return frozenset(value)


def parse_capabilities(message: object, *, wire: bool) -> Capabilities:
    """Check a capabilities answer (schema capabilities-response).

    `wire`: the answer came from a subprocess and must carry type and protocol;
    an in-process adapter may leave them out (ops.ReferenceAdapter does).
    """
    if not isinstance(message, dict):
        raise ImplementationFault(f"capabilities answer must be a JSON object, got {_preview(message)}")
    if wire or "protocol" in message:
        if message.get("type") != "capabilities":
            raise ImplementationFault(f"capabilities answer has type {message.get('type')!r}, expected 'capabilities'")
        if message.get("protocol") != PROTOCOL:
            raise ImplementationFault(f"implementation speaks protocol {message.get('protocol')!r}, the runner {PROTOCOL!r}")
    name = message.get("name", "unnamed")
    if not isinstance(name, str):
        raise ImplementationFault(f"capabilities field 'name' must be a string, got {_preview(name)}")
    sets = message.get("parameterSets", ALL_PARAMETER_SETS)
    return Capabilities(
        name=name,
        profiles=_string_list(message.get("profiles"), "profiles"),
        parameter_sets=None if sets == ALL_PARAMETER_SETS else _string_list(sets, "parameterSets"),
        operations=_string_list(message.get("operations"), "operations"),
    )


def parse_answer(message: object, *, expected_id: int | None) -> Answer:
    """Check one answer (schema response); `expected_id` None for in-process adapters (no envelope)."""
    if not isinstance(message, dict):
        raise ImplementationFault(f"answer must be a JSON object, got {_preview(message)}")
    if expected_id is not None:
        if message.get("type") != "response":
            raise ImplementationFault(f"answer has type {message.get('type')!r}, expected 'response'")
        got_id = message.get("id")
        if type(got_id) is not int:
            raise ImplementationFault(f"answer id must be a JSON integer, got {_preview(got_id)} "
                                      f"({json_type(got_id)}); the oldest unanswered request is id {expected_id}")
        if got_id != expected_id:
            raise ImplementationFault(
                f"answer carries id {_preview(got_id)} but the oldest unanswered request is id {expected_id} "
                "(answers must come one per request, in request order)")
    has_outputs, has_error = "outputs" in message, "error" in message
    if has_outputs == has_error:
        raise ImplementationFault("answer must carry exactly one of 'outputs' and 'error'")
    if has_outputs:
        if not isinstance(message["outputs"], dict):
            raise ImplementationFault(f"'outputs' must be a JSON object, got {_preview(message['outputs'])}")
        return Answer(outputs=message["outputs"])
    error = message["error"]
    if not (isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message", ""), str)):
        raise ImplementationFault(f"'error' must be an object with string 'code' and 'message', got {_preview(error)}")
    return Answer(error=error)


def parse_line(line: str) -> object:
    """One line of stdout as strict JSON; anything else is garbage on the protocol channel."""
    try:
        return strict_json(line)
    except AmbiguousJson as exc:
        raise ImplementationFault(f"wrote ambiguous JSON ({exc}): {_preview(line.rstrip())}") from None
    except ValueError as exc:
        raise ImplementationFault(f"wrote a line that is not JSON ({exc}): {_preview(line.rstrip())}") from None


def json_type(value: object) -> str:
    """The JSON type of a value, for messages about the wrong one: "a string", "null", ..."""
    if isinstance(value, bool):
        return "a boolean"
    kinds = {type(None): "null", int: "an integer", float: "a float", str: "a string", list: "a list",
             dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def _preview(value: object, limit: int = 120) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=repr)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return repr(text[:limit] + ("..." if len(text) > limit else "")) if isinstance(value, str) else (
        text[:limit] + ("..." if len(text) > limit else ""))


@cache
def schema(name: str) -> Json:
    """The JSON Schema of one protocol message or report (conformance/schema/NAME.schema.json)."""
    text = resources.files("mpksa.conformance").joinpath("schema", f"{name}.schema.json").read_text("utf-8")
    loaded: Json = json.loads(text)
    return loaded
