"""The package, the spec and the vectors carry one version, and the changelog names it (issue 14)."""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from pathlib import Path

import mpksa
from mpksa.vectors import files
from mpksa.vectors.builder import GENERATOR_VERSION

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("mpksa") == mpksa.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", mpksa.__version__)
    assert mpksa.SPEC_VERSION == ".".join(mpksa.__version__.split(".")[:2])


def test_the_spec_and_the_vectors_state_the_same_version() -> None:
    overview = (ROOT / "spec" / "01-overview.md").read_text(encoding="utf-8")
    assert (f"Specification version {mpksa.SPEC_VERSION} (`mpksa.SPEC_VERSION`), reference package `mpksa` "
            f"{mpksa.__version__}, test vectors\n`{GENERATOR_VERSION}`") in overview
    manifest = json.loads(files().joinpath("manifest.json").read_text("ascii"))
    assert (manifest["specVersion"], manifest["generatorVersion"]) == (mpksa.SPEC_VERSION, GENERATOR_VERSION)
    one = json.loads(files().joinpath("v2", "v2-test-512", "enc.json").read_text("ascii"))
    assert (one["specVersion"], one["generatorVersion"]) == (mpksa.SPEC_VERSION, GENERATOR_VERSION)


def test_the_changelog_opens_with_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (\S+) \(\d{4}-\d{2}-\d{2}\)$", text, re.M)
    assert first and first.group(1) == mpksa.__version__
    assert f"Vectors `{GENERATOR_VERSION}`" in text[first.end():].split("\n## ")[0]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
