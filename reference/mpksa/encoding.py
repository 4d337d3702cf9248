"""Encoding of a gradient into messages: quantization, weights, slots, Eq. (2), Algorithm 2.

`v1` adds the signed offset encoding of finding E6: a slot holds v + V for a
value v in [-V, V], so the sum over |S| clients is |S|*V more than the true sum.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import (
    DimensionMismatchError,
    MalformedInputError,
    NonFiniteValueError,
    ParameterError,
    QuantizationRangeError,
    SlotOverflowError,
    show,
)


@dataclass(frozen=True)
class Encoding:
    """Fixed-point scale 2^frac_bits, clipping bound, largest weight and largest |S|."""

    frac_bits: int = 16
    clip: float = 1.0
    weight_max: int = 1
    max_clients: int = 10

    def __post_init__(self) -> None:
        for name in ("frac_bits", "weight_max", "max_clients"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParameterError(f"{name} = {value!r} must be an integer")
        if isinstance(self.clip, bool) or not isinstance(self.clip, int | float):
            raise ParameterError(f"clip = {self.clip!r} must be a number")
        if not 0 <= self.frac_bits <= 52:
            raise ParameterError(f"frac_bits = {self.frac_bits} must lie in [0, 52]")
        if not (0 < self.clip <= sys.float_info.max and math.isfinite(self.clip * 2.0**self.frac_bits)):
            raise ParameterError(f"clip = {self.clip!r:.40} must be positive with clip * 2^frac_bits a finite binary64")
        if self.q_max < 1:
            raise ParameterError(f"clip * 2^frac_bits = {self.clip * 2**self.frac_bits} must be at least 1")
        if self.weight_max < 1 or self.max_clients < 1:
            raise ParameterError(f"weight_max = {self.weight_max} and max_clients = {self.max_clients} must be >= 1")

    @property
    def q_max(self) -> int:
        """Largest |quantized value|: floor(clip * 2^f)."""
        return math.floor(math.ldexp(self.clip, self.frac_bits))

    @property
    def value_bound(self) -> int:
        """V: every weighted value, and every weight, lies in [-V, V]."""
        return self.weight_max * self.q_max

    @property
    def slot_bits(self) -> int:
        """b, the least with 2^b > max_clients * 2V, so a slot sum never carries."""
        return (self.max_clients * 2 * self.value_bound).bit_length()

    def slots_per_segment(self, modulus_bits: int) -> int:
        """k = floor((|n| - 1) / b): a packed segment stays below 2^(|n|-1) < n."""
        k = (modulus_bits - 1) // self.slot_bits
        if k < 1:
            raise ParameterError(f"a {self.slot_bits}-bit slot does not fit a {modulus_bits}-bit modulus")
        return k

    def segment_count(self, dim: int, modulus_bits: int) -> int:
        """u = ceil((dim + 1) / k): the dim weighted values and the weight (Eq. (1)), k per segment (Sec. 3.4)."""
        return -(-(dim + 1) // self.slots_per_segment(modulus_bits))


def finite_value(x: object, index: int) -> float:
    """A gradient value as binary64: a real number, finite, within the float range."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise MalformedInputError(f"value[{index}] = {x!r} must be a real number")
    if not abs(x) <= sys.float_info.max:  # NaN and the infinities fail this too
        raise NonFiniteValueError(f"value[{index}] = {show(x) if isinstance(x, int) else x!r} must be finite")
    return float(x)


def quantize(values: Sequence[float], encoding: Encoding, clip: bool = True) -> list[int]:
    """q = round_half_even(x * 2^f), clipped to [-q_max, q_max] when `clip`, else refused."""
    out = []
    for index, value in enumerate(values):
        x = finite_value(value, index)
        if abs(x) > encoding.clip and not clip:
            raise QuantizationRangeError(f"value[{index}] = {x!r} lies outside [-{encoding.clip}, {encoding.clip}]")
        x = max(-encoding.clip, min(encoding.clip, x))
        out.append(max(-encoding.q_max, min(encoding.q_max, round(math.ldexp(x, encoding.frac_bits)))))
    return out


def weigh(quantized: Sequence[int], weight: int, encoding: Encoding) -> list[int]:
    """Eq. (1) carried in the data: (w*q_1, ..., w*q_d, w); the server divides by sum of w."""
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= encoding.weight_max:
        raise QuantizationRangeError(f"weight = {weight!r} must be an integer in [1, {encoding.weight_max}]")
    for index, q in enumerate(quantized):
        if isinstance(q, bool) or not isinstance(q, int):
            raise MalformedInputError(f"quantized[{index}] = {q!r} must be an integer")
        if not -encoding.q_max <= q <= encoding.q_max:
            raise QuantizationRangeError(f"quantized[{index}] = {q} lies outside [-{encoding.q_max}, {encoding.q_max}]")
    return [weight * q for q in quantized] + [weight]


def offset(values: Sequence[int], encoding: Encoding) -> list[int]:
    """E6 fix: v + V in [0, 2V]."""
    return [v + encoding.value_bound for v in values]


def radix_vector(encoding: Encoding, k: int) -> list[int]:
    """The super-increasing vector a = (1, 2^b, 2^{2b}, ..., 2^{(k-1)b})."""
    return [1 << (encoding.slot_bits * t) for t in range(k)]


def check_super_increasing(a: Sequence[int], bound: int, modulus: int) -> None:
    """Sec. 3.1: a_1 = 1, sum_{j<i} a_j*bound < a_i, sum_j a_j*bound < modulus."""
    if not a or a[0] != 1:
        raise ParameterError(f"a must start with a_1 = 1, got {list(a[:1])}")
    total = 0
    for i, a_i in enumerate(a):
        if total >= a_i and i > 0:
            raise ParameterError(f"a_{i + 1} = {a_i} must exceed sum_(j<{i + 1}) a_j * {bound} = {total}")
        total += a_i * bound
    if total >= modulus:
        raise ParameterError(f"sum_j a_j * {bound} = {show(total)} must be below the modulus {show(modulus)}")


def segments(values: Sequence[int], k: int) -> list[list[int]]:
    """Sec. 3.4: split into u = ceil(len / k) segments of k values; the last may be short."""
    return [list(values[start : start + k]) for start in range(0, len(values), k)]


def pack(values: Sequence[int], a: Sequence[int]) -> int:
    """Eq. (2): hat nabla = a_1*nabla_1 + a_2*nabla_2 + ... + a_k*nabla_k."""
    if len(values) > len(a):
        raise DimensionMismatchError(f"{len(values)} values do not fit {len(a)} slots")
    return sum(a_j * v for a_j, v in zip(a, values))


def recover(total: int, a: Sequence[int]) -> list[int]:
    """Algorithm 2: t_n = total; t_{i-1} = t_i mod a_i; nabla_i = (t_i - t_{i-1}) / a_i; nabla_1 = t_1."""
    t = total
    out = [0] * len(a)
    for i in range(len(a) - 1, 0, -1):
        t_prev = t % a[i]
        out[i] = (t - t_prev) // a[i]
        t = t_prev
    out[0] = t
    return out


def pack_segments(values: Sequence[int], encoding: Encoding, k: int) -> list[int]:
    """Split into segments of k slots and pack each by Eq. (2) with a = radix_vector."""
    return [pack(chunk, radix_vector(encoding, len(chunk))) for chunk in segments(values, k)]


def unpack_segments(sums: Sequence[int], encoding: Encoding, count: int, k: int) -> list[int]:
    """Algorithm 2 on each segment sum; `count` slots in all, the last segment may be short.

    The number of sums is checked before anything is sized by `count`, a received value.
    """
    u = -(-count // k)
    if len(sums) != u:
        raise DimensionMismatchError(f"{len(sums)} segment sums, expected {u} for {count} slots")
    lengths = [k] * (u - 1) + [count - k * (u - 1)] if u else []
    return [v for total, k_j in zip(sums, lengths) for v in recover(total, radix_vector(encoding, k_j))]


def encode_v1(quantized: Sequence[int], weight: int, encoding: Encoding, modulus_bits: int) -> list[int]:
    """Client side of `v1`: weigh, offset by V, pack into segments of k slots."""
    return pack_segments(offset(weigh(quantized, weight, encoding), encoding), encoding, encoding.slots_per_segment(modulus_bits))


def decode_v1(sums: Sequence[int], encoding: Encoding, clients: int, dim: int, modulus_bits: int) -> tuple[list[int], int]:
    """Server side of `v1`: unpack, check every slot sum, remove |S|*V.

    Returns (sum_i w_i*q_i per coordinate, sum_i w_i).
    """
    if clients > encoding.max_clients:
        raise SlotOverflowError(f"|S| = {clients} exceeds max_clients = {encoding.max_clients}")
    slots = unpack_segments(sums, encoding, dim + 1, encoding.slots_per_segment(modulus_bits))
    limit = clients * 2 * encoding.value_bound
    for index, s in enumerate(slots):
        if not 0 <= s <= limit:
            raise SlotOverflowError(f"slot[{index}] = {s} lies outside [0, |S|*2V = {limit}]")
    values = [s - clients * encoding.value_bound for s in slots]
    if not clients <= values[dim] <= clients * encoding.weight_max:
        raise SlotOverflowError(f"weight sum {values[dim]} lies outside [|S|, |S|*weight_max] = [{clients}, {clients * encoding.weight_max}]")
    return values[:dim], values[dim]


def average(weighted_sums: Sequence[int], weight_sum: int, encoding: Encoding) -> list[float]:
    """Eq. (1): sum_i w_i*x_i / sum_i w_i, undoing the 2^f scale."""
    return [math.ldexp(s / weight_sum, -encoding.frac_bits) for s in weighted_sums]
