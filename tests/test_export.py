"""`mpksa vectors export`: a standalone, reproducible archive that verifies on its own (issue 14)."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

import pytest

from mpksa.cli import main
from mpksa.errors import MalformedInputError
from mpksa.vectors import files
from mpksa.vectors.export import export
from mpksa.vectors.verify import verify


def test_the_archive_holds_every_file_and_verifies_on_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vectors", "export", "--out", str(tmp_path)]) == 0
    (archive,) = tmp_path.glob("mpksa-vectors-*.tar.gz")
    assert str(archive) in capsys.readouterr().out
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    (top,) = (tmp_path / "x").iterdir()
    shipped = Path(str(files()))
    for name in ("manifest.json", "README.md", "schema/operation.schema.json", "v1/v1-test-512/enc.json"):
        assert (top / name).read_bytes() == (shipped / name).read_bytes(), name
    sums = dict(line.split("  ")[::-1] for line in (top / "SHA256SUMS").read_text().splitlines())
    assert all(hashlib.sha256((top / p).read_bytes()).hexdigest() == d for p, d in sums.items())
    assert verify(str(top)).ok


def test_the_archive_is_reproducible(tmp_path: Path) -> None:
    first, _ = export(tmp_path / "a.tar.gz")
    second, _ = export(tmp_path / "b.tar.gz")
    assert first.read_bytes() == second.read_bytes()


def test_a_damaged_vector_folder_is_not_exported(tmp_path: Path) -> None:
    copy = tmp_path / "vectors"
    shutil.copytree(Path(str(files())), copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    target = copy / "v1" / "v1-test-512" / "enc.json"
    target.write_bytes(target.read_bytes().replace(b'"comment"', b'"Comment"', 1))
    with pytest.raises(MalformedInputError, match="enc.json does not match its SHA-256"):
        export(tmp_path / "out.tar.gz", copy)  # type: ignore[arg-type]
    assert not (tmp_path / "out.tar.gz").exists()


def test_export_into_a_missing_folder_is_a_typed_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vectors", "export", "--out", str(tmp_path / "no" / "such.tar.gz")]) == 2
    assert "does not exist" in capsys.readouterr().err
