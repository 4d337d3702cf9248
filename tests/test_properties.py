"""Property tests (hypothesis): v1 decrypts to the exact sum; encodings round-trip; ranges hold.

Rounds run on v1-test-512 (insecure, fast). The bulk of each gradient comes from a seeded
PRNG and hypothesis places the special values (range extremes, values beyond the clip,
exact rounding halves) at positions of its choice, so that large dimensions stay cheap.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import expected_weighted_sums
from mpksa import Client, Encoding, run_round, setup
from mpksa.encoding import (
    decode_v1,
    encode_v1,
    pack_segments,
    quantize,
    unpack_segments,
    weigh,
)
from mpksa.errors import QuantizationRangeError
from mpksa.params import parameter_set
from mpksa.randomness import SeededRandom

V1_TEST = parameter_set("v1-test-512")
ROUND_ENCODING = Encoding(frac_bits=16, clip=1.0, weight_max=3, max_clients=12)
SPECIALS = [1.0, -1.0, 1.0 + 2**-40, -1.0 - 2**-40, 1.5, -3.0, 1e300, -1e300, 0.0, -0.0,
            2**-17, -(2**-17), 3 * 2**-17, -5 * 2**-17, 2**-60, math.nextafter(1.0, 0.0)]

@st.composite
def encodings(draw: st.DrawFn) -> Encoding:
    frac_bits = draw(st.integers(0, 24))
    clips = [1.0, 2.0, 3.75, 100.0] + ([0.5, 0.3] if frac_bits >= 2 else [])  # clip * 2^f >= 1
    return Encoding(frac_bits=frac_bits, clip=draw(st.sampled_from(clips)), weight_max=draw(st.integers(1, 6)),
                    max_clients=draw(st.integers(1, 12)))


@st.composite
def round_inputs(draw: st.DrawFn) -> tuple[int, list[int], dict[int, list[float]], dict[int, int]]:
    online_count = draw(st.integers(2, 12))
    registered = online_count + draw(st.integers(0, 3))
    online = sorted(draw(st.permutations(range(registered)))[:online_count])
    dim = draw(st.integers(1, 5000))
    bulk = random.Random(draw(st.integers(0, 2**32)))
    updates = {i: [bulk.uniform(-1.2, 1.2) for _ in range(dim)] for i in range(registered)}
    for _ in range(draw(st.integers(0, 24))):
        client = draw(st.sampled_from(online))
        position = draw(st.integers(0, dim - 1))
        updates[client][position] = draw(st.sampled_from(SPECIALS) | st.floats(-2.0, 2.0))
    weights = {i: draw(st.integers(1, ROUND_ENCODING.weight_max)) for i in range(registered)}
    return registered, online, updates, weights


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_inputs())
def test_v1_decrypts_the_exact_sum(inputs) -> None:
    registered, online, updates, weights = inputs
    enc = ROUND_ENCODING
    dim = len(updates[0])
    rng = SeededRandom(repr((registered, online, dim)).encode())
    key, keys = setup(V1_TEST, enc, dim, range(registered), rng)
    clients = [Client(i, keys[i], updates[i], weights[i]) for i in range(registered)]
    result = run_round(V1_TEST, enc, key, clients, online, rng=rng)
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        [updates[i] for i in online], [weights[i] for i in online], enc.frac_bits, enc.clip)


@st.composite
def encoded_clients(draw: st.DrawFn) -> tuple[Encoding, int, list[list[int]], list[int]]:
    enc = draw(encodings())
    modulus_bits = draw(st.integers(enc.slot_bits + 1, 2048))
    clients = draw(st.integers(1, enc.max_clients))
    dim = draw(st.integers(0, 120))
    q = st.integers(-enc.q_max, enc.q_max)
    updates = [draw(st.lists(q, min_size=dim, max_size=dim)) for _ in range(clients)]
    weights = [draw(st.integers(1, enc.weight_max)) for _ in range(clients)]
    return enc, modulus_bits, updates, weights


@settings(max_examples=80, deadline=None)
@given(encoded_clients())
def test_offset_encoding_sums_and_round_trips(case) -> None:
    """Sum the packed segments of up to max_clients clients (what Dec yields) and decode."""
    enc, bits, updates, weights = case
    segments = [encode_v1(q, w, enc, bits) for q, w in zip(updates, weights)]
    assert all(0 <= s < 2 ** (bits - 1) for client in segments for s in client)
    sums = [sum(column) for column in zip(*segments)]
    dim = len(updates[0])
    weighted, weight_sum = decode_v1(sums, enc, len(updates), dim, bits)
    assert weighted == [sum(w * q[t] for q, w in zip(updates, weights)) for t in range(dim)]
    assert weight_sum == sum(weights)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.data())
def test_pack_unpack_round_trip(slot_bits: int, k: int, data: st.DataObject) -> None:
    # An encoding whose slots are exactly `slot_bits` wide: 2^(b-1) <= max_clients*2V < 2^b.
    enc = Encoding(frac_bits=0, clip=float(2 ** max(slot_bits - 2, 0)), weight_max=1, max_clients=1)
    b = enc.slot_bits
    values = data.draw(st.lists(st.integers(0, 2**b - 1), max_size=200))
    packed = pack_segments(values, enc, k)
    assert len(packed) == -(-len(values) // k)
    assert unpack_segments(packed, enc, len(values), k) == values


@settings(max_examples=60, deadline=None)
@given(encodings())
def test_one_past_the_range_raises(enc: Encoding) -> None:
    quantize([enc.clip, -enc.clip], enc, clip=False)  # the extremes themselves are fine
    for x in (math.nextafter(enc.clip, math.inf), -math.nextafter(enc.clip, math.inf)):
        with pytest.raises(QuantizationRangeError, match="lies outside"):
            quantize([0.0, x], enc, clip=False)
        assert quantize([x], enc) == [int(math.copysign(enc.q_max, x))]  # clipped by default
    weigh([enc.q_max, -enc.q_max], enc.weight_max, enc)
    for q in (enc.q_max + 1, -enc.q_max - 1):
        with pytest.raises(QuantizationRangeError, match=str(q)):
            weigh([0, q], 1, enc)
    for w in (0, enc.weight_max + 1):
        with pytest.raises(QuantizationRangeError, match=rf"weight = {w} must be an integer in \[1, {enc.weight_max}\]"):
            weigh([0], w, enc)
