"""mpksa.vectors: the JSON test vectors (package data), their generator and their checker (spec ch. 8).

The vector files ship as package data; read them through `files()`, which works
from a source checkout, an installed wheel or a zip alike.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any


def files() -> Traversable:
    """The root of the shipped vectors: `<profile>/<parameter-set>/<family>.json`, `schema/`, `manifest.json`."""
    return resources.files(__name__)


def load(relative: str) -> Any:
    """One shipped JSON file by its path relative to the root, e.g. "v1/v1-test-512/enc.json"."""
    entry = files()
    for part in relative.split("/"):
        entry = entry.joinpath(part)
    return json.loads(entry.read_text("ascii"))
