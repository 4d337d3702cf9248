"""The systems a user would pick instead of MPKSA, and MPKSA itself, behind one small interface.

A contender sets itself up for a workload (keys, contexts: not part of a round), then plays one
round top to bottom in `round`, telling a `Meter` which party does each step and which bytes it
sends. The harness (`benchmarks/harness.py`) runs each contender in its own process and turns the
meter's CPU seconds and byte counts into per-parameter figures.

Every contender sums the same float32 updates (uniform in [-1, 1]) of `clients` clients; those
that need integers use the same fixed-point settings (`mpksa.encoding.Encoding`: frac_bits 16,
clip 1.0, weight 1 per client, max_clients = clients).
"""

from __future__ import annotations

import importlib
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mpksa.encoding import Encoding

# Client phases that process what the client downloads (the aggregate, or the sealed model):
# the rest is the work behind its upload.
DOWNLOAD_PHASES = frozenset({"receive", "decrypt", "decode", "unseal"})


@dataclass(frozen=True)
class Workload:
    """One round: `clients` float32 updates of `parameters` values each (the measured slice)."""

    clients: int
    parameters: int
    frac_bits: int = 16
    clip: float = 1.0
    seed: int = 0

    @property
    def encoding(self) -> Encoding:
        """The fixed-point settings shared by every contender that needs integers."""
        return Encoding(frac_bits=self.frac_bits, clip=self.clip, weight_max=1, max_clients=self.clients)

    def updates(self) -> list[np.ndarray]:
        """Client i's update: float32 uniform in [-1, 1] from generator (seed, i).

        A slice of d' parameters is the first d' values of the d-parameter update.
        """
        return [np.random.default_rng([self.seed, i]).uniform(-1.0, 1.0, self.parameters).astype(np.float32)
                for i in range(self.clients)]


def quantize(x: np.ndarray, enc: Encoding) -> np.ndarray:
    """round_half_even(clip(x) * 2^f) as int64: the fixed-point integers of the peers."""
    return np.rint(np.ldexp(np.clip(x.astype(np.float64), -enc.clip, enc.clip), enc.frac_bits)).astype(np.int64)


@dataclass
class Outcome:
    """What the round computed: the decoded sum of the updates, as float64.

    `exact_integer_sum` is whether the decrypted integers equal the sum of the quantized updates
    (None for contenders without integers, such as CKKS and float32).
    """

    decoded_sum: np.ndarray
    exact_integer_sum: bool | None = None


def cpu_seconds(extra: Callable[[], float] | None = None) -> float:
    """CPU seconds of this process (all threads), its waited-for children and `extra` (pool workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime + (extra() if extra else 0.0)


@dataclass
class Meter:
    """CPU seconds per party and phase, and bytes each client sends and receives.

    Work every client does identically on the same input (decrypting the one aggregate) is
    measured once (`every_client`) and charged to each client.
    """

    clients: int
    extra_cpu: Callable[[], float] | None = None
    client_cpu: list[dict[str, float]] = field(init=False)
    shared_client_cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    server_cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    bytes_up: list[int] = field(init=False)
    bytes_down: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.client_cpu = [defaultdict(float) for _ in range(self.clients)]
        self.bytes_up = [0] * self.clients
        self.bytes_down = [0] * self.clients

    @contextmanager
    def _charge(self, book: dict[str, float], phase: str) -> Iterator[None]:
        start = cpu_seconds(self.extra_cpu)
        try:
            yield
        finally:
            book[phase] += cpu_seconds(self.extra_cpu) - start

    def client(self, i: int, phase: str) -> AbstractContextManager[None]:
        return self._charge(self.client_cpu[i], phase)

    def every_client(self, phase: str) -> AbstractContextManager[None]:
        return self._charge(self.shared_client_cpu, phase)

    def server(self, phase: str) -> AbstractContextManager[None]:
        return self._charge(self.server_cpu, phase)

    def upload(self, i: int, blobs: bytes | Sequence[bytes]) -> bytes | Sequence[bytes]:
        """Client i sends `blobs` (serialized objects); returns them for the server."""
        self.bytes_up[i] += len(blobs) if isinstance(blobs, bytes) else sum(len(b) for b in blobs)
        return blobs

    def download(self, i: int, blobs: bytes | Sequence[bytes]) -> bytes | Sequence[bytes]:
        """Client i receives `blobs`; returns them for the client."""
        self.bytes_down[i] += len(blobs) if isinstance(blobs, bytes) else sum(len(b) for b in blobs)
        return blobs

    def client_phases(self) -> dict[str, float]:
        """Mean CPU seconds per client, per phase."""
        phases: dict[str, float] = defaultdict(float)
        for book in self.client_cpu:
            for phase, seconds in book.items():
                phases[phase] += seconds / self.clients
        for phase, seconds in self.shared_client_cpu.items():
            phases[phase] += seconds
        return dict(phases)


@dataclass(frozen=True)
class Exponentiations:
    """Modular exponentiations per unit (segment, chunk, ciphertext) that a party must compute.

    `fixed_base`: the base is fixed for good (a table pays off); else a plain powmod.
    """

    party: str            # "client" (per client) or "server" (per round)
    what: str
    per_unit: int
    exponent_bits: int
    modulus_bits: int
    fixed_base: bool = False


class Contender(Protocol):
    """A contender may also have `extra_cpu`, a callable giving CPU seconds spent outside this
    process's threads and waited-for children (MPKSA v1: its pool workers)."""

    name: str
    trust: str            # the trust model in one phrase
    notes: str
    slice_full: int | None   # largest measured parameter count in a full run (None: all)
    slice_quick: int | None  # the same for --quick

    def unavailable(self) -> str | None:
        """Why this contender cannot run here, or None."""
        ...

    def setup(self, workload: Workload) -> None:
        """Keys and contexts for the workload: done once, not part of a round."""
        ...

    def units(self, parameters: int) -> int:
        """Ciphertext units (segments, chunks, ciphertexts) for `parameters` values: costs and bytes
        are linear in them, so a slice scales to the full size by units(d) / units(slice)."""
        ...

    def round(self, updates: list[np.ndarray], meter: Meter) -> Outcome:
        ...

    def exponentiations(self) -> list[Exponentiations]:
        ...


# name -> "module:class"; loaded one at a time so a peer that does not import is reported, not lost.
CONTENDERS: dict[str, str] = {
    "plaintext-float32": "contenders.plaintext:PlaintextFloat32",
    "phe-paillier": "contenders.phe_paillier:PhePaillier",
    "packed-paillier-full": "contenders.packed_paillier:PackedPaillierFull",
    "packed-paillier-fixed-base": "contenders.packed_paillier:PackedPaillierFixedBase",
    "tenseal-ckks": "contenders.ckks:TensealCkks",
    "mpksa-v1": "contenders.mpksa_round:MpksaV1",
    "mpksa-v2": "contenders.mpksa_round:MpksaV2",
    "mpksa-v1-ct": "contenders.mpksa_round:MpksaV1ConstantTime",
    "mpksa-v2-ct": "contenders.mpksa_round:MpksaV2ConstantTime",
    "mpksa-paper": "contenders.mpksa_round:MpksaPaper",
}


def load(name: str, **options: object) -> Contender:
    """The contender called `name`, built with `options` (MPKSA's: variable_time); raises ImportError
    when it (or its library) does not import."""
    module, _, cls = CONTENDERS[name].partition(":")
    return getattr(importlib.import_module(module), cls)(**options)


def serialize_elements(values: Sequence[int], nbytes: int) -> bytes:
    """Fixed-length big-endian integers, back to back (the wire contract's integers, as bytes)."""
    return b"".join(int(v).to_bytes(nbytes, "big") for v in values)


def parse_elements(data: bytes, nbytes: int) -> list[int]:
    if len(data) % nbytes:
        raise ValueError(f"{len(data)} bytes are not a whole number of {nbytes}-byte integers")
    return [int.from_bytes(data[i:i + nbytes], "big") for i in range(0, len(data), nbytes)]
