"""Text and JSON that an implementation under test, or a vector file from elsewhere, controls.

Such JSON is read strictly (`strict_json`): a document that could mean two things is refused.
Such text reaches the terminal, the JSON report and the JUnit XML. Before it does:
- every character that is not printable (controls and terminal escapes, NUL, DEL, C1 controls,
  lone surrogates, noncharacters such as U+FFFF, bidi overrides and other format characters,
  line and paragraph separators) becomes a backslash escape, so nothing reaches a terminal raw,
  the report stays valid UTF-8 and the XML stays well formed;
- its length is capped, keeping the start and the end (where the detail usually is).
It must still never be read as rich markup: callers wrap it in `rich.text.Text`.
"""

from __future__ import annotations

import json
import math
from typing import Any

TEXT_LIMIT = 2000     # a reason, a problem, a message
NAME_LIMIT = 200      # a name, a label, a comment
STRING_LIMIT = 4096   # one string inside an expected or received value (RSA-2048 hex fits)
JSON_BUDGET = 1 << 16  # characters of strings in one expected or received value
_ITEMS = 64           # list items or object members shown per container
_DEPTH = 16


def text(value: object, limit: int = TEXT_LIMIT) -> str:
    """`value` as one line of printable text of at most about `limit` characters (plus escapes)."""
    raw = value if isinstance(value, str) else _str(value)
    if len(raw) > limit:
        head = max(limit * 2 // 3, 1)
        tail = max(limit - head, 0)
        raw = f"{raw[:head]} ...[{len(raw) - head - tail} characters cut]... {raw[len(raw) - tail:]}"
    return raw if raw.isprintable() else "".join(ch if ch.isprintable() else _escape(ch) for ch in raw)


def json_value(value: Any) -> Any:
    """A JSON value safe to write and to show: strings as `text`, containers and total size capped."""
    budget = [JSON_BUDGET]
    return _bounded(value, 0, budget)


def _bounded(value: Any, depth: int, budget: list[int]) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else text(repr(value))
    if budget[0] <= 0 or depth > _DEPTH:
        return "..."
    if isinstance(value, str):
        shown = text(value, min(STRING_LIMIT, max(budget[0], 16)))
        budget[0] -= len(shown)
        return shown
    if isinstance(value, list | tuple):
        items = [_bounded(item, depth + 1, budget) for item in value[:_ITEMS]]
        return items + ([f"... {len(value) - _ITEMS} more items"] if len(value) > _ITEMS else [])
    if isinstance(value, dict):
        members = {}
        for key in list(value)[:_ITEMS]:
            shown = text(key, NAME_LIMIT)
            budget[0] -= len(shown)
            members[shown] = _bounded(value[key], depth + 1, budget)
        if len(value) > _ITEMS:
            members["..."] = f"{len(value) - _ITEMS} more members"
        return members
    return text(_str(value), NAME_LIMIT)


def _str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # an object from an in-process adapter may refuse even that
        return f"<unprintable {type(value).__name__}>"


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class AmbiguousJson(ValueError):
    """JSON that parses but is ambiguous: a repeated key, a bare NaN or Infinity, a number beyond binary64."""


def _no_constants(name: str) -> object:
    # NaN and Infinity are not JSON; the contract spells them as the strings "NaN", "Infinity".
    raise AmbiguousJson(f"bare {name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise AmbiguousJson(f"number {text[:40]} does not fit a binary64 float")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise AmbiguousJson(f"key {text(repr(key), 60)} appears more than once in one object")
        seen.add(key)
    return dict(pairs)


def strict_json(document: str | bytes) -> object:
    """Parse JSON that means one thing only: no repeated keys, no bare NaN/Infinity, no overflowing number.

    Raises ValueError (with the rule that was broken) on anything else, RecursionError included.
    """
    try:
        return json.loads(document, object_pairs_hook=_unique_keys, parse_constant=_no_constants,
                          parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None
