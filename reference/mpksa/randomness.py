"""Sources of randomness.

Every function that draws randomness takes a ``RandomSource``. The default is
the operating system's CSPRNG through ``secrets``. Test vectors use
``SeededRandom`` (deterministic, for reproducible files only) and record every
value drawn; ``ReplayRandom`` plays recorded values back.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Protocol

from .errors import MalformedInputError, show


class RandomSource(Protocol):
    def randrange(self, low: int, high: int) -> int:
        """A uniform integer in [low, high)."""
        ...

    def token_bytes(self, n: int) -> bytes:
        """n uniform bytes."""
        ...


class SystemRandom:
    """The operating system's CSPRNG (``secrets``). The default everywhere."""

    def randrange(self, low: int, high: int) -> int:
        return low + secrets.randbelow(high - low)

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


class SeededRandom:
    """Deterministic SHAKE-256 stream. For reproducible test vectors only, never for keys."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0

    def token_bytes(self, n: int) -> bytes:
        block = self._seed + self._counter.to_bytes(8, "big")
        self._counter += 1
        return hashlib.shake_256(block).digest(n)

    def randrange(self, low: int, high: int) -> int:
        # Rejection sampling keeps the distribution exactly uniform.
        width = high - low
        nbytes = (width.bit_length() + 7) // 8 + 1
        while True:
            x = int.from_bytes(self.token_bytes(nbytes), "big")
            if x < (256**nbytes // width) * width:
                return low + x % width


class ReplayRandom:
    """Returns recorded values in order, checking that each fits the request."""

    def __init__(self, values: Iterable[int | bytes]) -> None:
        self._values = list(values)
        self._next = 0

    def _take(self) -> int | bytes:
        if self._next >= len(self._values):
            raise MalformedInputError(f"replay randomness exhausted after {self._next} values")
        value = self._values[self._next]
        self._next += 1
        return value

    def randrange(self, low: int, high: int) -> int:
        value = self._take()
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
            raise MalformedInputError(f"replayed value number {self._next} is not an integer in [{show(low)}, {show(high)})")
        return value

    def token_bytes(self, n: int) -> bytes:
        value = self._take()
        if not isinstance(value, bytes) or len(value) != n:
            raise MalformedInputError(f"replayed value number {self._next} is not {n} bytes")
        return value

    def exhausted(self) -> bool:
        return self._next == len(self._values)

    def check_all_used(self, what: str) -> None:
        """Refuse leftovers: a request that gives more values than the operation draws is malformed."""
        if not self.exhausted():
            raise MalformedInputError(f"more {what} values were given than the operation uses")


class RecordingRandom:
    """Wraps a source and keeps every value it hands out, in order."""

    def __init__(self, inner: RandomSource) -> None:
        self.inner = inner
        self.drawn: list[int | bytes] = []

    def randrange(self, low: int, high: int) -> int:
        value = self.inner.randrange(low, high)
        self.drawn.append(value)
        return value

    def token_bytes(self, n: int) -> bytes:
        value = self.inner.token_bytes(n)
        self.drawn.append(value)
        return value

    def take(self) -> list[int | bytes]:
        """The values drawn since the last take()."""
        drawn, self.drawn = self.drawn, []
        return drawn


SYSTEM_RANDOM = SystemRandom()


def exponent(upper: int, rng: RandomSource) -> int:
    """A uniform exponent in [1, upper): zero would leave an element unmasked."""
    return rng.randrange(1, upper)


def even_exponent(upper: int, rng: RandomSource) -> int:
    """2s for s uniform in [1, upper/2): the hardened KeyGen's sk_i, so that (-1)^{sk_i} = 1 (spec 5.14, E8)."""
    return 2 * exponent(upper // 2, rng)
