"""Eq. (2), Algorithm 2, the segments of Sec. 3.4, the slot limits and rounding (review C.8)."""

from __future__ import annotations

import itertools

import pytest

from conftest import expected_quantized, expected_segments, expected_weighted_sums
from mpksa import Client, Encoding, run_round, setup
from mpksa.encoding import (
    check_super_increasing,
    decode_v1,
    encode_v1,
    pack,
    quantize,
    recover,
    segments,
)
from mpksa.errors import ParameterError, SlotOverflowError
from mpksa.randomness import SeededRandom

# A super-increasing vector for bound 10 that is not a power sequence:
# 11 > 10, 130 > 12*10, 1500 > 142*10, 17000 > 1642*10.
GENERAL_A = [1, 11, 130, 1500, 17000]


def test_algorithm2_recovers_every_vector_under_a_general_super_increasing_vector(paper_test) -> None:
    check_super_increasing(GENERAL_A, 10, paper_test.p)
    for values in itertools.product(range(11), repeat=len(GENERAL_A)):
        packed = sum(a * v for a, v in zip(GENERAL_A, values))
        assert pack(values, GENERAL_A) == packed
        assert recover(packed, GENERAL_A) == list(values)


def test_remark1_sum_of_clients_recovers_the_coordinate_sums() -> None:
    """Remark 1: with a built for N*grad_max, the sum of N packed vectors unpacks to the sums."""
    clients = [[3, 0, 1, 2, 3], [1, 2, 3, 0, 0], [0, 3, 3, 3, 1]]  # N = 3, grad_max = 3, bound 9 <= 10
    total = sum(pack(v, GENERAL_A) for v in clients)
    assert recover(total, GENERAL_A) == [sum(column) for column in zip(*clients)]


@pytest.mark.parametrize(("a", "bound", "modulus", "message"), [
    ([], 10, 10**9, "must start with a_1 = 1"),
    ([2, 30], 10, 10**9, "must start with a_1 = 1, got [2]"),
    ([1, 10], 10, 10**9, "a_2 = 10 must exceed sum_(j<2) a_j * 10 = 10"),
    ([1, 11, 120], 10, 10**9, "a_3 = 120 must exceed sum_(j<3) a_j * 10 = 120"),
    (GENERAL_A, 10, 186420, "must be below the modulus"),
])
def test_check_super_increasing_errors(a: list[int], bound: int, modulus: int, message: str) -> None:
    with pytest.raises(ParameterError) as info:
        check_super_increasing(a, bound, modulus)
    assert message in str(info.value)


def test_check_super_increasing_accepts_the_boundary() -> None:
    check_super_increasing(GENERAL_A, 10, 186421)  # sum a_j * bound = 186420 < modulus


# ---- segments (Sec. 3.4) ------------------------------------------------------------------------


@pytest.mark.parametrize(("dim", "modulus_bits", "lengths"), [
    (30, 512, [25, 6]),        # 20-bit slots, k = 25: dim + 1 = 31 is not a multiple of k
    (49, 512, [25, 25]),       # a full last segment
    (24, 512, [25]),           # one full segment
    (3, 21, [1, 1, 1, 1]),     # k = 1: one slot per segment
    (3, 40, [1, 1, 1, 1]),     # k = floor(39 / 20) = 1
    (3, 41, [2, 2]),           # k = 2
])
def test_segment_lengths_and_round_trip(dim: int, modulus_bits: int, lengths: list[int]) -> None:
    enc = Encoding(max_clients=4)
    assert enc.slot_bits == 20  # 2^20 > 4 * 2 * 65536 = 2^19
    values = [(-1) ** t * (t * 997 % (enc.q_max + 1)) for t in range(dim)]
    assert [len(s) for s in segments(values + [1], enc.slots_per_segment(modulus_bits))] == lengths
    packed = encode_v1(values, 1, enc, modulus_bits)
    assert packed == expected_segments(values, 1, enc, modulus_bits)
    assert all(0 <= s < 2 ** (modulus_bits - 1) for s in packed)
    assert decode_v1(packed, enc, 1, dim, modulus_bits) == (values, 1)


def test_a_slot_wider_than_the_modulus_is_refused() -> None:
    with pytest.raises(ParameterError, match="20-bit slot does not fit a 20-bit modulus"):
        Encoding(max_clients=4).slots_per_segment(20)


def test_round_with_one_slot_per_segment(v1_test) -> None:
    """Slots of 258 bits in a 512-bit modulus: k = 1, every value is its own segment."""
    enc = Encoding(frac_bits=52, clip=2.0**203, weight_max=1, max_clients=2)
    assert enc.slots_per_segment(v1_test.modulus_bits) == 1
    rng = SeededRandom(b"k = 1")
    updates = [[2.0**203, -(2.0**150) / 3, 7.25], [-(2.0**202), 2.0**160, -(2.0**-52) * 5]]
    key, keys = setup(v1_test, enc, 3, range(2), rng)
    result = run_round(v1_test, enc, key, [Client(i, keys[i], updates[i]) for i in range(2)], range(2), rng=rng)
    assert len(result.segment_sums) == 4
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(updates, [1, 1], 52, 2.0**203)


# ---- slot limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_max_clients_at_the_clip_decode_exactly(v1_test, seeded, sign: float) -> None:
    enc = Encoding(frac_bits=16, clip=1.0, weight_max=2, max_clients=3)
    # V = 2 * 65536; 2^b > 3 * 2V = 786432 = 0b11000000000000000000 (20 bits), so b = 20.
    assert enc.slot_bits == 20
    rng = seeded()
    key, keys = setup(v1_test, enc, 30, range(3), rng)
    updates = [[sign * 5.0] * 30 for _ in range(3)]  # beyond the clip: clipped to +-1
    result = run_round(v1_test, enc, key, [Client(i, keys[i], updates[i], 2) for i in range(3)], range(3), rng=rng)
    assert result.weighted_sums == [int(sign) * 3 * 2 * 65536] * 30
    assert result.weight_sum == 6


def test_one_client_more_than_max_clients_overflows(v1_test, seeded) -> None:
    enc = Encoding(max_clients=3)
    rng = seeded()
    key, keys = setup(v1_test, enc, 4, range(4), rng)
    clients = [Client(i, keys[i], [1.0] * 4) for i in range(4)]
    with pytest.raises(SlotOverflowError, match=r"\|S\| = 4 exceeds max_clients = 3"):
        run_round(v1_test, enc, key, clients, range(4), rng=rng)
    with pytest.raises(SlotOverflowError, match=r"\|S\| = 4 exceeds max_clients = 3"):
        decode_v1([0], enc, 4, 4, 512)


def test_a_slot_sum_beyond_its_limit_is_refused() -> None:
    enc = Encoding(max_clients=3)
    limit = 2 * 2 * enc.value_bound  # |S| = 2
    packed = (limit + 1) | (5 << enc.slot_bits)
    with pytest.raises(SlotOverflowError, match=rf"slot\[0\] = {limit + 1} lies outside \[0, \|S\|\*2V = {limit}\]"):
        decode_v1([packed], enc, 2, 1, 512)


# ---- rounding ---------------------------------------------------------------------------------


def test_round_half_even_at_exact_halves() -> None:
    enc = Encoding(frac_bits=0, clip=8.0)
    assert quantize([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 7.5], enc) == [0, 2, 2, 4, 0, -2, -2, 8]
    enc16 = Encoding(frac_bits=16)
    halves = [(k + 0.5) / 2**16 for k in (-4, -3, 0, 1, 2, 65534)]
    assert quantize(halves, enc16) == [-4, -2, 0, 2, 2, 65534]
    assert quantize(halves, enc16) == expected_quantized(halves, 16, 1.0)
    assert quantize([1 / 3, -2 / 3], enc16) == [21845, -43691]  # nearest, not truncated
