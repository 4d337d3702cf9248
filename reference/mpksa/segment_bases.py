"""The segment bases h_1, h_2, ... of profile `v2` (spec 10.3): hashed from n, derived once, cached.

Nobody chooses a base and nobody knows a discrete-log relation among g, h_1, h_2, ...: each is
x^{2n} mod n^2 for an x hashed from n and the segment number. Deriving one costs an
exponentiation with a (|n| + 1)-bit exponent (milliseconds for RSA-2048) and a round needs one
base per data segment, so they are derived on first use and kept for the life of the process.
They depend on n alone: every parameter set on the same modulus shares them and their cache.
"""

from __future__ import annotations

import gmpy2

from .errors import ParameterError
from .params import V2Params, i2osp, shake

BASE_LABEL = b"MPKSA v2 h"
"""Domain separation of the base derivation; g's derivation uses "MPKSA v1 g"."""

_CACHE: dict[int, list[int]] = {}


def derive_segment_base(n: int, j: int) -> int:
    """h_j = x_c^{2n} mod n^2, x_c = SHAKE(BASE_LABEL, I2OSP(n, B) || I2OSP(j, 4) || I2OSP(c, 4), B + 16) mod n,
    for the least counter c with gcd(x_c, n) = 1 and h_j != 1 (B = byte length of n)."""
    if not 1 <= j < 2**32:
        raise ParameterError(f"segment number j = {j} must lie in [1, 2^32)")
    n2 = n * n
    nbytes = (n.bit_length() + 7) // 8
    counter = 0
    while True:
        data = i2osp(n, nbytes) + i2osp(j, 4) + i2osp(counter, 4)
        x = int.from_bytes(shake(BASE_LABEL, data, nbytes + 16), "big") % n
        if gmpy2.gcd(x, n) == 1:
            h = int(gmpy2.powmod(x, 2 * n, n2))
            if h != 1:
                return h
        counter += 1


def segment_bases(params: V2Params, count: int) -> tuple[int, ...]:
    """(h_1, ..., h_count) for the modulus of `params`: the missing ones derived now, all kept."""
    cached = _CACHE.setdefault(params.n, [])
    while len(cached) < count:
        cached.append(derive_segment_base(params.n, len(cached) + 1))
    return tuple(cached[:count])
