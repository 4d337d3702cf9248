"""The segment bases h_1, h_2, ... of profile `v2` (spec 10.3), derived here and kept on disk.

h_j = x^{2n} mod n^2 for the first counter c = 0, 1, ... whose
x = OS2IP(SHAKE256(I2OSP(10, 2) || "MPKSA v2 h" || I2OSP(n, B) || I2OSP(j, 4) || I2OSP(c, 4)), B + 16 bytes) mod n
has gcd(x, n) = 1 and gives h_j != 1 (B = byte length of n). Written from the spec, not from the
reference. One base costs a power with the (|n| + 1)-bit exponent 2n (about 8 ms mod an RSA-2048
n^2), and a 1,000,000-parameter model needs 10,310 of them, the same in every round: so they are
derived once, in the process pool, and kept.

`SegmentBases` keeps the bases of one modulus in memory and, given a directory, in a file there;
for the variable-time engine it also keeps each base's stored powers h^(2^(s*k)) (`group.comb_power`)
in a second file. Every file ends with the SHA-256 of what precedes it, and its header names the
format, the label, n (by the SHA-256 of label and n), the element size and the count. Loading
checks all of that and then derives again a few bases (the first, the last and `VERIFY_SAMPLES`
drawn at random) and recomputes their stored powers: a corrupted file fails the digest, a file for
another modulus or label fails the header, and a file re-written with other bases (a structured
derivation, say) fails the recomputation. Each check failure raises `BaseCacheError`; the file is
never used silently.
What the spot check does not prove is every base: a file in which someone with write access to
the cache directory replaced m of u bases, neither the first nor the last, (and fixed the digest)
passes with probability about (1 - m/u)^VERIFY_SAMPLES. Whoever can write there can usually
change the installed code too; `SegmentBases.verify_all` derives everything again when that is a
concern.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gmpy2

from mpksa.errors import MpksaError, ParameterError

from . import group

LABEL = b"MPKSA v2 h"
FORMAT = 1
MAGIC = b"MPKSA fast segment bases\n"
VERIFY_SAMPLES = 3
DIGEST_BYTES = 32


class BaseCacheError(MpksaError):
    """A cache file of segment bases fails its digest, its header or the recomputation of a sample."""

    code = "base-cache-invalid"


def derive_base(n: int, j: int) -> int:
    """Spec 10.3: h_j = x^{2n} mod n^2, x hashed from (n, j, counter), the least counter that works."""
    if not 1 <= j < 2**32:
        raise ParameterError(f"segment number j = {j} must lie in [1, 2^32)")
    nbytes = (n.bit_length() + 7) // 8
    prefix = len(LABEL).to_bytes(2, "big") + LABEL + n.to_bytes(nbytes, "big") + j.to_bytes(4, "big")
    n_mpz = gmpy2.mpz(n)
    n2 = n_mpz * n_mpz
    counter = 0
    while True:
        digest = hashlib.shake_256(prefix + counter.to_bytes(4, "big")).digest(nbytes + 16)
        x = gmpy2.mpz(int.from_bytes(digest, "big")) % n_mpz
        if gmpy2.gcd(x, n_mpz) == 1:
            h = gmpy2.powmod(x, 2 * n_mpz, n2)  # public base and exponent: no secret here
            if h != 1:
                return int(h)
        counter += 1


def derive_bases(n: int, numbers: Sequence[int]) -> list[int]:
    """[h_j for j in numbers]: a work item for the process pool."""
    return [derive_base(n, j) for j in numbers]


def powers_of_bases(n2: int, spacing: int, rows: int, bases: Sequence[int]) -> list[tuple[int, ...]]:
    """[(h^(2^s), ..., h^(2^((rows-1)*s))) for h in bases]: a work item for the process pool."""
    m = gmpy2.mpz(n2)
    return [tuple(int(x) for x in group.stored_powers(h, spacing, rows, m)[1:]) for h in bases]


def default_cache_dir() -> Path:
    """$MPKSA_CACHE_DIR, else $XDG_CACHE_HOME/mpksa, else ~/.cache/mpksa."""
    if os.environ.get("MPKSA_CACHE_DIR"):
        return Path(os.environ["MPKSA_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mpksa"


class SegmentBases:
    """h_1, h_2, ... of the modulus n (and, on request, their stored powers), derived once and kept.

    `directory` None keeps them in memory only. The same object serves every parameter set on n.
    """

    def __init__(self, n: int, directory: Path | str | None) -> None:
        self.n = int(n)
        self.n2 = gmpy2.mpz(self.n) ** 2
        self.directory = None if directory is None else Path(directory)
        self.element_bytes = (int(self.n2 - 1).bit_length() + 7) // 8
        self.key = hashlib.sha256(len(LABEL).to_bytes(2, "big") + LABEL + self.n.to_bytes(self.element_bytes, "big")).hexdigest()
        self._bases: list[Any] = []
        self._powers: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
        self._loaded: set[str] = set()
        self.derived = 0        # bases derived by this object (not loaded)
        self.loaded = 0         # bases read from the directory

    # --- what the engines call -------------------------------------------------------------------

    def bases(self, count: int, workers: int = 1) -> list[Any]:
        """[h_1, ..., h_count]: loaded from the directory or derived now (and then saved)."""
        if len(self._bases) < count:
            self._load_bases()
        if len(self._bases) < count:
            numbers = list(range(len(self._bases) + 1, count + 1))
            self._bases.extend(gmpy2.mpz(h) for h in group.run_chunked(derive_bases, (self.n,), numbers, workers))
            self.derived += len(numbers)
            self._save(self._bases_path(), "bases", 0, 1, [[h] for h in self._bases])
        return self._bases[:count]

    def stored_powers(self, count: int, spacing: int, rows: int, workers: int = 1) -> list[tuple[Any, ...]]:
        """[(h_j, h_j^(2^s), ..., h_j^(2^((rows-1)*s))) for j = 1..count]: the comb's stored powers."""
        key = (spacing, rows)
        kept = self._powers.setdefault(key, [])
        if len(kept) < count:
            self._load_powers(spacing, rows)
        if len(kept) < count:
            start, bases = len(kept), self.bases(count, workers)
            new = group.run_chunked(powers_of_bases, (int(self.n2), spacing, rows), [int(h) for h in bases[start:]], workers)
            kept.extend([(h, *(gmpy2.mpz(x) for x in row)) for h, row in zip(bases[start:], new)])
            self._save(self._powers_path(spacing, rows), "powers", spacing, rows - 1, [row[1:] for row in kept])
        return kept[:count]

    def verify_all(self, workers: int = 1) -> None:
        """Derive every kept base again and recompute every kept stored power; BaseCacheError on a difference."""
        fresh = group.run_chunked(derive_bases, (self.n,), list(range(1, len(self._bases) + 1)), workers)
        for j, (kept, h) in enumerate(zip(self._bases, fresh), start=1):
            if kept != h:
                raise BaseCacheError(f"base h_{j} differs from its derivation (spec 10.3)")
        for (spacing, rows), kept_rows in self._powers.items():
            fresh_rows = group.run_chunked(powers_of_bases, (int(self.n2), spacing, rows), [int(r[0]) for r in kept_rows], workers)
            for j, (row, again) in enumerate(zip(kept_rows, fresh_rows), start=1):
                if tuple(int(x) for x in row[1:]) != again:
                    raise BaseCacheError(f"the stored powers of h_{j} ({rows} rows of {spacing} bits) differ from h_{j}'s")

    # --- files -------------------------------------------------------------------------------------

    def _bases_path(self) -> Path | None:
        return None if self.directory is None else self.directory / f"v2-bases-f{FORMAT}-{self.key[:32]}.bin"

    def _powers_path(self, spacing: int, rows: int) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"v2-powers-f{FORMAT}-{self.key[:32]}-{rows}x{spacing}.bin"

    def _load_bases(self) -> None:
        path = self._bases_path()
        if path is None or str(path) in self._loaded or not path.exists():
            return
        self._loaded.add(str(path))
        rows = self._read(path, "bases", 0, 1)
        found = [row[0] for row in rows]
        for j in self._sample(len(found)):
            if found[j - 1] != derive_base(self.n, j):
                raise BaseCacheError(f"{path}: base h_{j} is not the one spec 10.3 derives; "
                                     "the file was written by something else (delete it to derive the bases again)")
        if len(found) > len(self._bases):
            self._bases = [gmpy2.mpz(h) for h in found]
            self.loaded = len(found)

    def _load_powers(self, spacing: int, rows: int) -> None:
        path = self._powers_path(spacing, rows)
        if path is None or str(path) in self._loaded or not path.exists():
            return
        self._loaded.add(str(path))
        found = self._read(path, "powers", spacing, rows - 1)
        bases = self.bases(len(found))
        for j in self._sample(len(found)):
            again = group.stored_powers(bases[j - 1], spacing, rows, self.n2)[1:]
            if tuple(found[j - 1]) != tuple(int(x) for x in again):
                raise BaseCacheError(f"{path}: the stored powers of h_{j} are not h_{j}'s "
                                     "(delete the file to compute them again)")
        kept = self._powers[(spacing, rows)]
        if len(found) > len(kept):
            kept[:] = [(h, *(gmpy2.mpz(x) for x in row)) for h, row in zip(bases, found)]

    def _sample(self, count: int) -> set[int]:
        """Segment numbers to derive again: the first, the last and a few at random."""
        if count == 0:
            return set()
        return {1, count} | {1 + secrets.randbelow(count) for _ in range(VERIFY_SAMPLES)}

    def _header(self, kind: str, spacing: int, per_row: int, count: int) -> dict[str, Any]:
        return {"format": FORMAT, "label": LABEL.decode(), "label_and_n_sha256": self.key, "kind": kind,
                "element_bytes": self.element_bytes, "spacing": spacing, "elements_per_base": per_row, "count": count}

    def _save(self, path: Path | None, kind: str, spacing: int, per_row: int, rows: Sequence[Sequence[Any]]) -> None:
        """Write atomically (a temporary file, then rename): a reader never sees half a file."""
        if path is None:
            return
        header = json.dumps(self._header(kind, spacing, per_row, len(rows)), sort_keys=True).encode() + b"\n"
        body = b"".join(int(x).to_bytes(self.element_bytes, "big") for row in rows for x in row)
        data = MAGIC + header + body
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data + hashlib.sha256(data).digest())
            os.replace(temporary, path)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            warnings.warn(f"segment bases not saved to {path}: {error}; they stay in memory", stacklevel=3)
        self._loaded.add(str(path))

    def _read(self, path: Path, kind: str, spacing: int, per_row: int) -> list[list[int]]:
        """The rows of a cache file, after its digest and header are checked."""
        data = path.read_bytes()
        content, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
        if len(data) < len(MAGIC) + DIGEST_BYTES or not content.startswith(MAGIC) or hashlib.sha256(content).digest() != digest:
            raise BaseCacheError(f"{path}: the file is corrupted (its SHA-256 does not match); delete it")
        end = content.find(b"\n", len(MAGIC))
        try:
            header = json.loads(content[len(MAGIC):end]) if end > 0 else None
            count = int(header["count"])  # type: ignore[index]
        except (ValueError, KeyError, TypeError):
            raise BaseCacheError(f"{path}: the header does not parse; delete the file") from None
        expected = self._header(kind, spacing, per_row, count)
        if header != expected:
            wrong = sorted(k for k in set(expected) | set(header) if header.get(k) != expected.get(k))
            raise BaseCacheError(f"{path}: the header does not match this cache (fields {wrong}); delete the file")
        body = content[end + 1:]
        size = self.element_bytes
        if len(body) != count * per_row * size:
            raise BaseCacheError(f"{path}: {len(body)} bytes of elements, expected {count * per_row * size}")
        values = [int.from_bytes(body[i:i + size], "big") for i in range(0, len(body), size)]
        if any(not 1 < x < self.n2 for x in values):
            raise BaseCacheError(f"{path}: an element lies outside (1, n^2)")
        return [values[i:i + per_row] for i in range(0, len(values), per_row)]


_SHARED: dict[tuple[int, str | None], SegmentBases] = {}


def shared_bases(n: int, directory: Path | str | None) -> SegmentBases:
    """One `SegmentBases` per (modulus, directory) in this process, shared by every engine."""
    key = (int(n), None if directory is None else str(directory))
    if key not in _SHARED:
        _SHARED[key] = SegmentBases(n, directory)
    return _SHARED[key]
