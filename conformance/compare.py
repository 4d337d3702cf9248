"""The first place where an answer differs from the expected value, as a path.

Paths read like the vector files: `outputs.ciphertext.e1[2]`. JSON types are
compared strictly (true is not 1, "0a" is not "0A"); an integer and a float
are equal when their values are, since JSON itself does not tell them apart.
"""

from __future__ import annotations

from typing import Any


class Absent:
    """Marks a key or list item that one side has and the other lacks."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = Absent()
Difference = tuple[str, Any, Any]  # (path, expected, got)


def first_difference(expected: Any, got: Any, path: str) -> Difference | None:
    """Depth-first, keys in the expected order then the unexpected ones; None when equal."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key, value in expected.items():
            if key not in got:
                return f"{path}.{key}", value, ABSENT
            found = first_difference(value, got[key], f"{path}.{key}")
            if found:
                return found
        for key in got:
            if key not in expected:
                return f"{path}.{key}", ABSENT, got[key]
        return None
    if isinstance(expected, list) and isinstance(got, list):
        for index, value in enumerate(expected):
            if index >= len(got):
                return f"{path}[{index}]", value, ABSENT
            found = first_difference(value, got[index], f"{path}[{index}]")
            if found:
                return found
        if len(got) > len(expected):
            return f"{path}[{len(expected)}]", ABSENT, got[len(expected)]
        return None
    return None if _same_scalar(expected, got) else (path, expected, got)


def _same_scalar(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return expected == got
    return type(expected) is type(got) and expected == got


def show(value: Any, limit: int = 72) -> str:
    """A short rendering for the terminal; long hex keeps both ends so the differing part often shows."""
    if value is ABSENT:
        return "<absent>"
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    half = (limit - 5) // 2
    shown = f"{text[:half]}...{text[-half:]} ({len(text)} chars)"
    return shown


def show_pair(expected: Any, got: Any, limit: int = 64) -> tuple[str, str]:
    """Both sides of a difference; two long strings are cut to a window around the first differing character."""
    if not (isinstance(expected, str) and isinstance(got, str)) or max(len(expected), len(got)) <= limit:
        return show(expected, limit), show(got, limit)
    at = next((k for k, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(expected), len(got)))
    start = max(0, min(at - limit // 2, max(len(expected), len(got)) - limit))

    def window(text: str) -> str:
        cut = text[start:start + limit]
        return f"{'...' if start else ''}{cut}{'...' if start + limit < len(text) else ''} ({len(text)} chars)"

    note = f", first difference at char {at}"
    return window(expected) + note, window(got)
