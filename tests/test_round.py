"""Algorithm 1 end to end: dropouts after upload, Eq. (1), hardening, RSA-2048 rounds."""

from __future__ import annotations

from fractions import Fraction

import pytest

from conftest import expected_quantized, expected_weighted_sums
from mpksa import Client, Encoding, Hardening, run_round, setup
from mpksa.aggpkgen import agg_pk_gen, check_pk_s
from mpksa.encoding import average
from mpksa.errors import AggregateKeyMismatchError, RoundAbortedError
from mpksa.randomness import RecordingRandom, SeededRandom


def _clients(keys, updates, weights=None):
    return [Client(i, keys[i], updates[i], 1 if weights is None else weights[i]) for i in sorted(updates)]


def _updates(count: int, dim: int, salt: int = 0) -> dict[int, list[float]]:
    """Values k/10 in [-1.3, 1.3]: every one needs rounding, those beyond +-1 are clipped."""
    return {i: [((11 * i + 5 * t + salt) % 27 - 13) / 10 for t in range(dim)] for i in range(count)}


def test_dropout_after_upload_aborts_then_a_fresh_rerun_succeeds(v1_test) -> None:
    enc = Encoding(max_clients=5)
    rng = RecordingRandom(SeededRandom(b"dropout after upload"))
    key, keys = setup(v1_test, enc, 20, range(4), rng)
    updates = _updates(4, 20)
    clients = _clients(keys, updates)
    rng.take()
    with pytest.raises(RoundAbortedError, match=r"clients \[2\] dropped out after upload"):
        run_round(v1_test, enc, key, clients, range(4), dropped_after_upload=[2], rng=rng)
    first_draws = rng.take()
    result = run_round(v1_test, enc, key, clients, [0, 1, 3], round_id=1, rng=rng)
    second_draws = rng.take()
    assert not set(map(repr, first_draws)) & set(map(repr, second_draws))  # fresh randomness
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        [updates[i] for i in (0, 1, 3)], [1, 1, 1], enc.frac_bits, enc.clip)


def test_weighted_average_is_eq1(v1_test) -> None:
    enc = Encoding(frac_bits=12, clip=2.0, weight_max=50, max_clients=4)
    rng = SeededRandom(b"eq1")
    key, keys = setup(v1_test, enc, 25, range(4), rng)
    updates = {i: [((13 * i + 3 * t) % 41 - 20) / 9 for t in range(25)] for i in range(4)}
    weights = {0: 50, 1: 1, 2: 17, 3: 32}
    result = run_round(v1_test, enc, key, _clients(keys, updates, weights), range(4), rng=rng)
    quantized = {i: expected_quantized(updates[i], 12, 2.0) for i in range(4)}
    total = sum(weights.values())
    mean = [sum(Fraction(weights[i] * quantized[i][t]) for i in range(4)) / total / 2**12 for t in range(25)]
    got = average(result.weighted_sums, result.weight_sum, enc)
    assert result.weight_sum == total
    assert got == [float(x) for x in mean]


@pytest.mark.parametrize("hardening", [Hardening(announce_keys=True), Hardening(announce_challenge=True),
                                       Hardening(announce_keys=True, announce_challenge=True)])
def test_hardening_options_still_decrypt_honest_rounds(v1_test, hardening: Hardening) -> None:
    enc = Encoding(max_clients=3)
    rng = SeededRandom(repr(hardening).encode())
    key, keys = setup(v1_test, enc, 30, range(3), rng)
    updates = _updates(3, 30)
    result = run_round(v1_test, enc, key, _clients(keys, updates), range(3), hardening=hardening, rng=rng)
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        list(updates.values()), [1, 1, 1], enc.frac_bits, enc.clip)


class _Log:
    """A network that delivers everything unchanged and logs (name, client id) of each message."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []

    def to_client(self, client_id, name, value):
        self.log.append((name, client_id))
        return value

    def to_server(self, client_id, name, value):
        self.log.append((name, client_id))
        return value


def test_every_message_passes_the_network_in_protocol_order(v1_test) -> None:
    enc = Encoding(max_clients=3)
    hardening = Hardening(announce_keys=True, announce_challenge=True)
    key, keys = setup(v1_test, enc, 30, range(3), SeededRandom(b"network keys"))
    clients = _clients(keys, _updates(3, 30))
    network = _Log()
    logged = run_round(v1_test, enc, key, clients, range(3), hardening=hardening, network=network,
                       rng=SeededRandom(b"network round"))
    plain = run_round(v1_test, enc, key, clients, range(3), hardening=hardening, rng=SeededRandom(b"network round"))
    assert logged == plain  # the honest default changes nothing
    per_client = [("pk_S", "announced pk", "W*", "E"), ("R", "announced g^r2", "T")]
    expected = [(name, i) for phase in per_client for i in range(3) for name in phase]
    assert network.log == expected


def test_without_a_model_no_nonce_is_drawn(v1_test) -> None:
    enc = Encoding(max_clients=3)
    key, keys = setup(v1_test, enc, 30, range(3), SeededRandom(b"no model"))
    rng = RecordingRandom(SeededRandom(b"no model round"))
    result = run_round(v1_test, enc, key, _clients(keys, _updates(3, 30)), range(3), model=None, rng=rng)
    drawn = rng.take()
    assert result.sealed_models == {}
    assert len(drawn) == 3 * 2 * len(result.segment_sums)  # (r_ij1, r_ij2) only
    assert all(isinstance(x, int) for x in drawn)


@pytest.mark.parametrize("name", ["paper_test", "v1_test"])
def test_wrong_or_forged_pk_s_is_refused_with_announced_keys(name: str, request) -> None:
    params = request.getfixturevalue(name)
    enc = Encoding(max_clients=4)
    _, keys = setup(params, enc, 3, range(4), SeededRandom(b"pk_s"))
    pks = [keys[i].pk for i in range(4)]
    announced = pks[:3]
    honest = agg_pk_gen(params, list(enumerate(announced)))
    check_pk_s(params, honest, pks[0], announced)
    wrong = agg_pk_gen(params, [(0, pks[0]), (1, pks[1]), (3, pks[3])])   # a different S
    forged = pks[0] * pow(params.g, 12345, params.group_modulus) % params.group_modulus
    for pk_s in (wrong, forged):
        with pytest.raises(AggregateKeyMismatchError, match="is not the product"):
            check_pk_s(params, pk_s, pks[0], announced)
    with pytest.raises(AggregateKeyMismatchError, match="not among the announced keys"):
        check_pk_s(params, honest, pks[3], announced)


@pytest.mark.slow
def test_ten_clients_rsa2048_short_one_thousand_parameters(rsa_short) -> None:
    enc = Encoding(max_clients=10)
    rng = SeededRandom(b"rsa2048 short, 10 clients")
    dim = 1000
    key, keys = setup(rsa_short, enc, dim, range(10), rng)
    # Values include exact halves of 2^-16 (round half to even decides) and out-of-range ones.
    updates = {i: [((7 * i + 3 * t) % 301 - 150) / 128 + (t % 3) * 2.0**-17 for t in range(dim)] for i in range(10)}
    result = run_round(rsa_short, enc, key, _clients(keys, updates), range(10), rng=rng)
    assert len(result.segment_sums) == 11  # k = 97 slots of 21 bits, 1001 slots
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        list(updates.values()), [1] * 10, enc.frac_bits, enc.clip)


@pytest.mark.slow
def test_one_round_rsa2048_full(rsa_full) -> None:
    enc = Encoding(max_clients=3)
    rng = SeededRandom(b"rsa2048 full")
    key, keys = setup(rsa_full, enc, 8, range(3), rng)
    assert key.alphas[0].bit_length() > 2048  # full-range exponents
    updates = _updates(3, 8, salt=4)
    result = run_round(rsa_full, enc, key, _clients(keys, updates), range(3), rng=rng)
    assert (result.weighted_sums, result.weight_sum) == expected_weighted_sums(
        list(updates.values()), [1, 1, 1], enc.frac_bits, enc.clip)
