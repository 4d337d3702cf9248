"""Vectorized encoding for the fast `v1` implementation: quantize, weigh, offset, pack, decode.

Written anew from the spec (review C.8, finding E6, Eq. (1) and (2), Algorithm 2), not from the
reference's code. Slots travel as numpy uint64 arrays and a segment integer is built from its
slots through a big-endian byte string (`numpy.packbits` then `int.from_bytes`), so no Python loop
runs per parameter. Encodings whose slots do not fit 63 bits (very large `frac_bits`, `clip` or
`weight_max`) take an exact Python-integer path instead: same results, slower.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mpksa.encoding import Encoding
from mpksa.errors import (
    DimensionMismatchError,
    NonFiniteValueError,
    QuantizationRangeError,
    SlotOverflowError,
)

# Segments handled per numpy batch when packing or unpacking: bounds the bit arrays' memory
# (64 bytes per slot while unpacked) at about 64 MiB.
_BATCH_SLOTS = 1 << 20
# Slot values, and slot sums, up to 2^63 - 1 fit an int64/uint64: the vectorized path.
_WORD_BITS = 63


def vectorized(encoding: Encoding) -> bool:
    """Whether slot values and slot sums fit the int64/uint64 fast path."""
    return encoding.slot_bits <= _WORD_BITS


# --- Quantization (review C.8) ------------------------------------------------------------------

def quantize(values: Any, encoding: Encoding, clip: bool = True) -> np.ndarray:
    """q = round_half_even(x * 2^f), clipped to [-q_max, q_max] when `clip`, else refused.

    Returns int64 (object dtype for encodings beyond 63 bits). NaN and infinities are refused.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = np.isfinite(x)
    bad = ~finite if clip else ~finite | (np.abs(np.where(finite, x, 0.0)) > encoding.clip)
    if bad.any():
        index = int(np.argmax(bad))
        if not finite[index]:
            raise NonFiniteValueError(f"value[{index}] = {float(x[index])!r} must be finite")
        raise QuantizationRangeError(f"value[{index}] = {float(x[index])!r} lies outside [-{encoding.clip}, {encoding.clip}]")
    clipped = np.clip(x, -encoding.clip, encoding.clip)
    if encoding.q_max >= 2**53:
        # Integers above 2^53 are not all doubles: round and clamp exactly in Python.
        return np.array([max(-encoding.q_max, min(encoding.q_max, round(math.ldexp(float(v), encoding.frac_bits))))
                         for v in clipped], dtype=object)
    # x * 2^f is exact in binary floating point; np.rint rounds half to even like Python's round.
    q = np.clip(np.rint(np.ldexp(clipped, encoding.frac_bits)), -encoding.q_max, encoding.q_max)
    return q.astype(np.int64)


# --- Weights, offset and packing (Eq. (1), E6, Eq. (2)) -----------------------------------------

def check_weight(weight: object, encoding: Encoding) -> int:
    """Eq. (1): the weight |D_i| is an integer in [1, weight_max]."""
    if isinstance(weight, bool) or not isinstance(weight, int | np.integer) or not 1 <= weight <= encoding.weight_max:
        raise QuantizationRangeError(f"weight = {weight!r} must be an integer in [1, {encoding.weight_max}]")
    return int(weight)


def offset_slots(quantized: Any, weight: object, encoding: Encoding) -> np.ndarray:
    """The slot values (w*q_1 + V, ..., w*q_d + V, w + V), each in [0, 2V] (Eq. (1) and E6)."""
    w = check_weight(weight, encoding)
    v = encoding.value_bound
    if vectorized(encoding):
        q = _as_int64(quantized)
        if q is None or q.size and (q.min() < -encoding.q_max or q.max() > encoding.q_max):
            _raise_first_out_of_range(list(np.asarray(quantized, dtype=object).reshape(-1)), encoding)
            q = np.asarray(quantized, dtype=np.int64)  # all in range, so they fit
        q = q.reshape(-1)
        slots = np.empty(q.size + 1, dtype=np.uint64)
        slots[:-1] = (q * w + v).astype(np.uint64)
        slots[-1] = w + v
        return slots
    values = [int(x) for x in np.asarray(quantized, dtype=object).reshape(-1)]
    _raise_first_out_of_range(values, encoding)
    return np.array([w * x + v for x in values] + [w + v], dtype=object)


def _as_int64(values: Any) -> np.ndarray | None:
    """The values as int64, or None when some do not fit (the caller then checks them exactly)."""
    if isinstance(values, np.ndarray) and values.dtype == np.int64:
        return values
    try:
        return np.asarray(values, dtype=np.int64)
    except OverflowError:
        return None


def _raise_first_out_of_range(values: list[Any], encoding: Encoding) -> None:
    for index, x in enumerate(values):
        if not -encoding.q_max <= x <= encoding.q_max:
            raise QuantizationRangeError(f"quantized[{index}] = {x} lies outside [-{encoding.q_max}, {encoding.q_max}]")


def encode(quantized: Any, weight: object, encoding: Encoding, modulus_bits: int) -> list[int]:
    """Client side of `v1`: weigh (Eq. (1)), offset by V (E6), pack k slots per segment (Eq. (2))."""
    slots = offset_slots(quantized, weight, encoding)
    return pack(slots, encoding.slot_bits, encoding.slots_per_segment(modulus_bits))


def pack(slots: np.ndarray, b: int, k: int) -> list[int]:
    """Eq. (2) with a = (1, 2^b, ..., 2^{(k-1)b}): slot t of a segment sits at bits [t*b, (t+1)*b)."""
    if slots.dtype == object:
        return [sum(int(v) << (b * t) for t, v in enumerate(slots[start:start + k]))
                for start in range(0, len(slots), k)]
    u = -(-len(slots) // k)  # segments, the last one may be short
    per_batch = max(1, _BATCH_SLOTS // k)
    out: list[int] = []
    for first in range(0, u, per_batch):
        chunk = slots[first * k:(first + per_batch) * k]
        out.extend(_pack_batch(chunk, b, k))
    return out


def _pack_batch(slots: np.ndarray, b: int, k: int) -> list[int]:
    rows = -(-len(slots) // k)
    grid = np.zeros(rows * k, dtype=">u8")
    grid[:len(slots)] = slots  # the short last segment gets zero slots on top: they add nothing
    # Most significant slot first, each as its low b bits, big-endian.
    grid = grid.reshape(rows, k)[:, ::-1]
    bits = np.unpackbits(np.ascontiguousarray(grid).view(np.uint8).reshape(rows, k, 8), axis=2)[:, :, 64 - b:]
    nbytes = (k * b + 7) // 8
    padded = np.zeros((rows, nbytes * 8), dtype=np.uint8)
    padded[:, nbytes * 8 - k * b:] = bits.reshape(rows, k * b)
    data = np.packbits(padded, axis=1).tobytes()
    return [int.from_bytes(data[r * nbytes:(r + 1) * nbytes], "big") for r in range(rows)]


def unpack(totals: list[int], b: int, k: int, count: int) -> np.ndarray:
    """Algorithm 2 on every segment: the slots of each total, `count` slots in all.

    A total at or above 2^(k_j * b) (k_j = slots of segment j) puts more than b bits in its top
    slot; the caller's range check must see that, so such a slot is returned as 2^63 - 1 (or,
    on the Python-integer path, exactly).
    """
    u = len(totals)
    last = count - (u - 1) * k
    if b > _WORD_BITS:
        return np.array([_unpack_exact(t, b, k if j < u - 1 else last) for j, t in enumerate(totals)],
                        dtype=object).reshape(-1)[:count] if u else np.zeros(0, dtype=object)
    nbytes = (k * b + 7) // 8
    overflow = np.zeros(u * k, dtype=bool)
    clean = []
    for j, t in enumerate(totals):
        width = k if j < u - 1 else last
        if t >> (width * b):
            overflow[j * k + width - 1] = True
            t &= (1 << (width * b)) - 1
        clean.append(t)
    slots = np.concatenate([_unpack_batch(clean[first:first + max(1, _BATCH_SLOTS // k)], b, k, nbytes)
                            for first in range(0, u, max(1, _BATCH_SLOTS // k))]) if u else np.zeros(0, np.uint64)
    slots[overflow] = np.uint64(2**63 - 1)
    return slots[:count]


def _unpack_batch(totals: list[int], b: int, k: int, nbytes: int) -> np.ndarray:
    rows = len(totals)
    data = b"".join(t.to_bytes(nbytes, "big") for t in totals)
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8).reshape(rows, nbytes), axis=1)
    bits = bits[:, nbytes * 8 - k * b:].reshape(rows, k, b)[:, ::-1, :]
    words = np.zeros((rows, k, 64), dtype=np.uint8)
    words[:, :, 64 - b:] = bits
    return np.packbits(words, axis=2).reshape(rows, k * 8).view(">u8").astype(np.uint64).reshape(-1)


def _unpack_exact(total: int, b: int, width: int) -> list[int]:
    mask = (1 << b) - 1
    return [(total >> (b * t)) & mask for t in range(width - 1)] + [total >> (b * (width - 1))]


def decode(sums: list[int], encoding: Encoding, clients: int, dim: int, modulus_bits: int) -> tuple[np.ndarray, int]:
    """Server side of `v1`: unpack, check every slot sum lies in [0, |S|*2V], remove |S|*V (E6).

    Returns (sum_i w_i*q_i per coordinate, sum_i w_i).
    """
    if clients > encoding.max_clients:
        raise SlotOverflowError(f"|S| = {clients} exceeds max_clients = {encoding.max_clients}")
    k, u = encoding.slots_per_segment(modulus_bits), encoding.segment_count(dim, modulus_bits)
    if len(sums) != u:
        raise DimensionMismatchError(f"{len(sums)} segment sums, expected {u} for {dim + 1} slots")
    slots = unpack([int(s) for s in sums], encoding.slot_bits, k, dim + 1)
    limit = clients * 2 * encoding.value_bound
    if slots.dtype == object:
        bad = [index for index, s in enumerate(slots) if s > limit]
    else:
        bad = np.flatnonzero(slots > np.uint64(limit)).tolist()[:1]
    if bad:
        raise SlotOverflowError(f"slot[{bad[0]}] = {slots[bad[0]]} lies outside [0, |S|*2V = {limit}]")
    shift = clients * encoding.value_bound
    values = slots - shift if slots.dtype == object else slots.astype(np.int64) - np.int64(shift)
    weight_sum = int(values[dim])
    # Every weight is in [1, weight_max]: a sum outside [|S|, |S|*weight_max] is no sum of S's weights.
    if not clients <= weight_sum <= clients * encoding.weight_max:
        raise SlotOverflowError(f"weight sum {weight_sum} lies outside [|S|, |S|*weight_max] = "
                                f"[{clients}, {clients * encoding.weight_max}]")
    return values[:dim], weight_sum


def average(weighted_sums: np.ndarray, weight_sum: int, encoding: Encoding) -> np.ndarray:
    """Eq. (1): sum_i w_i*x_i / sum_i w_i, undoing the 2^f scale."""
    return np.ldexp(np.asarray(weighted_sums, dtype=np.float64) / weight_sum, -encoding.frac_bits)
