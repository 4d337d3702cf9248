"""`mpksa vectors export`: the vectors as one standalone archive, for implementers without pip.

The archive holds the manifest, the schemas, every vector file, the format contract (README.md)
and SHA256SUMS, under one top folder named after the spec version. It is reproducible: the same
vectors give the same bytes (sorted members, fixed times and owners). Every file is checked
against the manifest's SHA-256 before anything is written, so a damaged copy is never exported.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from importlib.resources.abc import Traversable
from pathlib import Path

from mpksa.errors import MalformedInputError

from . import files


def _walk(root: Traversable, prefix: str = "") -> dict[str, bytes]:
    """Every .json and .md file below `root`, by its path relative to it."""
    found: dict[str, bytes] = {}
    for entry in root.iterdir():
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name not in ("__pycache__",):
                found.update(_walk(entry, path + "/"))
        elif entry.name.endswith((".json", ".md")):
            found[path] = entry.read_bytes()
    return found


def collect(root: Traversable | None = None) -> tuple[str, dict[str, bytes]]:
    """(spec version, {relative path: bytes}) of a vectors folder, checked against its manifest."""
    found = _walk(root if root is not None else files())
    if "manifest.json" not in found:
        raise MalformedInputError("the vectors folder has no manifest.json")
    try:
        manifest = json.loads(found["manifest.json"])
        listed = {path: entry["sha256"] for path, entry in manifest["files"].items()}
        version = manifest["specVersion"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedInputError(f"manifest.json is not a vectors manifest: {exc!s:.80}") from None
    for path, digest in sorted(listed.items()):
        if path not in found:
            raise MalformedInputError(f"{path} is listed in manifest.json but missing")
        if hashlib.sha256(found[path]).hexdigest() != digest:
            raise MalformedInputError(f"{path} does not match its SHA-256 in manifest.json")
    unlisted = sorted(p for p in found if p.endswith(".json") and p not in listed
                      and p != "manifest.json" and not p.startswith("schema/"))
    if unlisted:
        raise MalformedInputError(f"{unlisted[0]} is not listed in manifest.json ({len(unlisted)} unlisted)")
    return version, found


def archive(version: str, contents: dict[str, bytes]) -> bytes:
    """A reproducible .tar.gz of `contents` under `mpksa-vectors-<version>/`, with SHA256SUMS."""
    top = f"mpksa-vectors-{version}"
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(contents.items()))
    members = {**contents, "SHA256SUMS": sums.encode("ascii")}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in sorted(members.items()):
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def export(out: Path, source: Traversable | None = None) -> tuple[Path, int]:
    """Write the archive to `out` (a file, or a folder to put `mpksa-vectors-<version>.tar.gz` in)."""
    version, contents = collect(source)
    target = out / f"mpksa-vectors-{version}.tar.gz" if out.is_dir() else out
    if not target.parent.is_dir():
        raise MalformedInputError(f"folder {str(target.parent)!r} does not exist")
    target.write_bytes(archive(version, contents))
    return target, len(contents)
