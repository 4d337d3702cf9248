"""The hardening of spec 5.13 and 5.14: proofs of knowledge, element checks, and the hardened round
against every attack of chapter 7 (E4, E5, E7, E8, E9, E10), on `v1` and on `v2` alike.

Each attack is the network (or key) of its demonstration in `mpksa.findings`, run against
`run_round` with `HARDENED` keys and options; the test names the typed error that stops it.
"""

from __future__ import annotations

import dataclasses

import pytest

from mpksa import HARDENED, Client, Encoding, Hardening, run_round, setup
from mpksa.encoding import encode_v1
from mpksa.errors import (
    AggregateKeyMismatchError,
    CarrierDecryptionError,
    ChallengeMismatchError,
    DegenerateElementError,
    LInputError,
    MalformedInputError,
    ParameterError,
    ProofError,
    RerunRefusedError,
)
from mpksa.findings.common import draw_enc, draw_pairs, power, split_draws
from mpksa.findings.e4 import CraftedChallenge
from mpksa.findings.e8 import JunkChallenge, RogueAnnouncedValue, SignedAnnouncedValue, sign_flipped_proof
from mpksa.findings.e9 import RogueKeyResponse
from mpksa.findings.e10 import CancellingUpload
from mpksa.guard import RerunGuard
from mpksa.keygen import key_gen
from mpksa.messages import Announced, KeyPair, Proof, ServerKey, Statement
from mpksa.params import proof_nonce_bits, proof_response_bound
from mpksa.proofs import check_announced_values, prove, prove_announced, verify
from mpksa.randomness import ReplayRandom, SeededRandom
from mpksa.validate import check_nondegenerate

DIM = 30  # two segments at the default encoding on v1-test-512


# --- the proof of knowledge ---------------------------------------------------------------------

def _statement(**changes) -> Statement:
    return dataclasses.replace(Statement("g^r2", client_id=2, index=1, round_id=7, online=(0, 2, 5)), **changes)


def test_a_proof_verifies_for_its_statement_only(v1_test, seeded) -> None:
    n2, g = v1_test.n2, v1_test.g
    x = 0xC0FFEE << 100
    y = power(g, x, n2)
    proof = prove(v1_test, x, y, _statement(), seeded())
    verify(v1_test, y, proof, _statement(online=(5, 2, 0)), "y")  # S is a set: its order does not matter
    assert 0 <= proof.c < 2**128 and 0 <= proof.z < proof_response_bound(v1_test)
    # Recomputed here: g^z * y^{-c} hashes back to c.
    assert proof.z >= proof.c * x  # z = k + c*x with k >= 0, never reduced
    for other in (_statement(round_id=8), _statement(client_id=5), _statement(index=0), _statement(online=(0, 2)),
                  _statement(kind="key"), Statement("key", client_id=2)):
        with pytest.raises(ProofError, match="does not verify"):
            verify(v1_test, y, proof, other, "y")


def test_wrong_exponent_junk_element_and_bad_ranges_fail(v1_test, seeded) -> None:
    n, n2, g = v1_test.n, v1_test.n2, v1_test.g
    x = 123456789
    y = power(g, x, n2)
    wrong = prove(v1_test, x + 1, y, _statement(), seeded())          # a proof made with another exponent
    junk = (1 + n) * y % n2                                            # (1 + n) g^x: not in <g>
    junk_proof = prove(v1_test, x, junk, _statement(), seeded("junk"))
    cases = [(y, wrong), (junk, junk_proof), (y, None),
             (y, Proof(2**128, 5)), (y, Proof(5, proof_response_bound(v1_test))), (y, Proof(5, -1))]
    for element, proof in cases:
        with pytest.raises(ProofError):
            verify(v1_test, element, proof, _statement(), "y")
    with pytest.raises(MalformedInputError):
        verify(v1_test, y, wrong, _statement(online=(1, 1)), "y")
    with pytest.raises(MalformedInputError):
        verify(v1_test, y, wrong, _statement(kind="nonsense"), "y")


def test_a_replayed_proof_from_another_round_fails(v1_test, seeded) -> None:
    draws = draw_pairs(v1_test, 2, seeded())
    values = [power(v1_test.g, r2, v1_test.n2) for _, r2 in draws]
    proofs = prove_announced(v1_test, 3, (0, 1), 1, values, [r2 for _, r2 in draws], seeded("k"))

    def announced(online, row):
        return [Announced(k, tuple(values), row) if k == 1 else Announced(k, (), ()) for k in online]

    check_announced_values(v1_test, 3, (0, 1), announced((0, 1), proofs))
    for round_id, online, row in ((4, (0, 1), proofs), (3, (0, 1, 2), proofs), (3, (0, 1), proofs[::-1])):
        with pytest.raises(ProofError, match="does not verify"):
            check_announced_values(v1_test, round_id, online, announced(online, row))
    with pytest.raises(ChallengeMismatchError, match="not for S"):
        check_announced_values(v1_test, 3, (0, 1, 2), [Announced(0, (), ()), Announced(1, tuple(values), proofs)])


def test_the_nonce_hides_c_times_x(v1_test) -> None:
    """k is 256 bits wider than x: z = k + c*x sits in [c*x, c*x + 2^nonce), 2^128 times wider than c*x."""
    assert proof_nonce_bits(v1_test) == v1_test.exponent_bits + 256
    assert proof_response_bound(v1_test) > 2**proof_nonce_bits(v1_test) + 2**128 * v1_test.exponent_bound


def test_only_the_sign_escapes_the_proof(v1_test, seeded) -> None:
    """Knowledge of x proves y = +-g^x, no more: -g^x has a forgeable proof, even keys make it harmless."""
    n2, x = v1_test.n2, 987654321
    statement = Statement("server key")
    proof = sign_flipped_proof(v1_test, x, statement, seeded())
    verify(v1_test, n2 - power(v1_test.g, x, n2), proof, statement, "beta")
    even = key_gen(v1_test, seeded("even"), even=True)
    assert even.sk % 2 == 0 and power(n2 - 1, even.sk, n2) == 1


def test_element_checks(v1_test) -> None:
    n, n2, g = v1_test.n, v1_test.n2, v1_test.g
    for bad in (1 + n, 1 + 5 * n, n2 - 1, n2 - 1 - n, n - 1):
        with pytest.raises(DegenerateElementError, match="mod n"):
            check_nondegenerate(v1_test, bad, "R")
    for fine in (g, (1 + n) * g % n2, n2 - g):  # not caught: the proofs are what stop these
        check_nondegenerate(v1_test, fine, "R")


def test_hardening_options_depend_on_the_announcements() -> None:
    with pytest.raises(ParameterError, match="need announce_keys"):
        Hardening(prove_knowledge=True, announce_challenge=True)
    with pytest.raises(ParameterError, match="need announce_keys"):
        Hardening(rerun_guard=True)
    with pytest.raises(ParameterError, match="needs announce_challenge"):
        Hardening(announce_keys=True, prove_knowledge=True)


# --- the hardened round, on v1 and v2 (fixture v1_or_v2_test) -------------------------------------

def _world(params, clients: int = 3, seed: str = "hardened"):
    encoding = Encoding(max_clients=5)
    key, keys = setup(params, encoding, DIM, range(clients), SeededRandom(seed.encode()), hardening=HARDENED)
    updates = {i: [((5 * i + 3 * t) % 17 - 8) / 10 for t in range(DIM)] for i in range(clients)}
    guards = {i: RerunGuard() for i in range(clients)}
    return encoding, key, keys, updates, guards


def _clients(keys, updates, guards, pairs=None):
    return [Client(i, (pairs or keys)[i], updates[i], guard=guards[i]) for i in sorted(updates)]


def _width(params) -> int:
    """Challenges (and announced g^r2 per client) in a round of DIM values: one per segment in v1, the carrier in v2."""
    return 1 if params.profile == "v2" else 2


def test_hardened_setup_and_an_honest_hardened_round(v1_or_v2_test) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params, 4)
    assert len(key.proofs) == 1 and all(k.sk % 2 == 0 and k.proof is not None for k in keys.values())
    result = run_round(params, encoding, key, _clients(keys, updates, guards), range(4), hardening=HARDENED,
                       round_id=1, rng=SeededRandom(b"honest hardened round"))
    assert result.correct and result.weight_sum == 4
    assert all(len(c.e2) == _width(params) for c in result.ciphertexts.values())
    # A second round on fresh updates, for the same S, passes every guard.
    fresh = {i: [v / 2 for v in u] for i, u in updates.items()}
    assert run_round(params, encoding, key, _clients(keys, fresh, guards), range(4), hardening=HARDENED,
                     round_id=2, rng=SeededRandom(b"second")).correct


def test_a_client_with_an_odd_key_or_no_guard_refuses(v1_test) -> None:
    encoding, key, keys, updates, guards = _world(v1_test)
    odd = {**keys, 1: KeyPair(keys[1].sk + 1, keys[1].pk, keys[1].proof)}
    with pytest.raises(ParameterError, match="even sk_i"):
        run_round(v1_test, encoding, key, _clients(keys, updates, guards, odd), range(3), hardening=HARDENED)
    with pytest.raises(ParameterError, match="no RerunGuard"):
        run_round(v1_test, encoding, key, [Client(i, keys[i], updates[i]) for i in range(3)], range(3),
                  hardening=HARDENED)


def test_e4_crafted_challenge_is_refused(v1_or_v2_test) -> None:
    encoding, key, keys, updates, guards = _world(v1_or_v2_test)
    with pytest.raises(ChallengeMismatchError):
        run_round(v1_or_v2_test, encoding, key, _clients(keys, updates, guards), range(3), hardening=HARDENED,
                  network=CraftedChallenge(0), rng=SeededRandom(b"e4"))


def test_e5_forged_pk_s_is_refused(v1_or_v2_test) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)

    class Forged:
        def to_client(self, client_id, name, value):
            return value * params.g % params.n2 if name == "pk_S" else value

        def to_server(self, client_id, name, value):
            return value

    with pytest.raises(AggregateKeyMismatchError):
        run_round(params, encoding, key, _clients(keys, updates, guards), range(3), hardening=HARDENED,
                  network=Forged(), rng=SeededRandom(b"e5"))


def test_e7_rerun_is_refused(v1_or_v2_test) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    clients = _clients(keys, updates, guards)
    run_round(params, encoding, key, clients, range(3), hardening=HARDENED, rng=SeededRandom(b"e7 first"))
    with pytest.raises(RerunRefusedError):
        run_round(params, encoding, key, clients, [0, 1], hardening=HARDENED, round_id=1,
                  rng=SeededRandom(b"e7 rerun"))


@pytest.mark.parametrize("junk, error", [("(1+n) g^y", ChallengeMismatchError), ("1+n", DegenerateElementError),
                                         ("-g^y", ChallengeMismatchError), ("-1", DegenerateElementError)])
def test_e8_junk_challenge_is_refused(v1_or_v2_test, junk: str, error: type) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    n, n2, g_y = params.n, params.n2, power(params.g, 99991, params.n2)
    value = {"(1+n) g^y": (1 + n) * g_y % n2, "1+n": 1 + n, "-g^y": n2 - g_y, "-1": n2 - 1}[junk]
    with pytest.raises(error):
        run_round(params, encoding, key, _clients(keys, updates, guards), range(3), hardening=HARDENED,
                  network=JunkChallenge([value] * _width(params)), rng=SeededRandom(b"e8"))


def test_e8_degenerate_challenge_is_refused_by_v2_without_the_hardening(v2_test) -> None:
    """v2's ResGen refuses R_0 = 1 + n and R_0 = -1 in a plain round (spec 10.5); (1 + n) g^y it answers,
    which is what the hardening is for (test_e8_junk_challenge_is_refused)."""
    encoding = Encoding(max_clients=5)
    key, keys = setup(v2_test, encoding, DIM, range(3), SeededRandom(b"plain"))
    clients = [Client(i, keys[i], [0.25] * DIM) for i in range(3)]
    for value in (1 + v2_test.n, v2_test.n2 - 1):
        with pytest.raises(DegenerateElementError, match="R_0"):
            run_round(v2_test, encoding, key, clients, range(3), network=JunkChallenge([value]),
                      rng=SeededRandom(b"plain e8"))


def test_e8_junk_challenge_through_a_colluder_is_refused(v1_or_v2_test) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    junk = (1 + params.n) * power(params.g, 99991, params.n2) % params.n2
    network = RogueAnnouncedValue(params, 2, keys[2].sk, [junk] * _width(params))
    with pytest.raises(ProofError, match=r"g\^r2\[2\]"):
        run_round(params, encoding, key, _clients(keys, updates, guards), range(3), hardening=HARDENED,
                  network=network, rng=SeededRandom(b"e8 colluder"))


@pytest.mark.parametrize("beta, error", [("1+n", DegenerateElementError), ("1+2^L n", DegenerateElementError),
                                         ("(1+n) g^alpha", ProofError)])
def test_e8_junk_server_key_is_refused(v1_or_v2_test, beta: str, error: type) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    n, n2 = params.n, params.n2
    junk = {"1+n": 1 + n, "1+2^L n": 1 + 2**192 * n, "(1+n) g^alpha": (1 + n) * key.betas[0] % n2}[beta]
    bad = ServerKey(key.alphas, (junk,), key.proofs)  # the published proof is for g^alpha, not for this beta
    with pytest.raises(error):
        run_round(params, encoding, bad, _clients(keys, updates, guards), range(3), hardening=HARDENED,
                  rng=SeededRandom(b"e8 key"))


def test_e8_sign_server_key_is_no_parity_oracle_with_even_keys(v1_or_v2_test) -> None:
    """beta = -g^alpha with a forged proof passes every check (the sign escapes the proof), but DSE
    succeeds at every client: with even sk_i, beta^{sk_i} = pk_i^alpha. The server's own Dec then
    sees (-1)^{sum r_ij1}, which is random, not a key bit."""
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    n2 = params.n2
    sign = ServerKey(key.alphas, (n2 - key.betas[0],),
                     (sign_flipped_proof(params, key.alphas[0], Statement("server key"), SeededRandom(b"s")),))
    dec_errors = (LInputError, CarrierDecryptionError)
    outcomes = []
    for seed in (b"a", b"b", b"c", b"d"):
        clients = _clients(keys, updates, {i: RerunGuard() for i in range(3)})
        try:
            outcomes.append(run_round(params, encoding, sign, clients, range(3), model=b"W", hardening=HARDENED,
                                      rng=SeededRandom(seed)).correct)
        except dec_errors as exc:
            outcomes.append(exc.code)  # the server's own Dec, when some sum of r_ij1 is odd
    assert set(outcomes) <= {True, LInputError.code, CarrierDecryptionError.code} and outcomes  # never aead-failure


def test_e8_sign_challenge_through_a_colluder_is_harmless_with_even_keys(v1_or_v2_test) -> None:
    """The colluder announces -g^{r_c2} with forged proofs: R_j = -R'_j passes every check, and with
    even sk_i every T_ij = R_j^{sk_i} is the honest value: the round decrypts the exact sum."""
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    u, width, source = 2, _width(params), SeededRandom(b"sign colluder")
    # The hardened round draws, per client: Enc's draws, then a nonce per proof (one per E_2 pair).
    enc_draws = [draw_enc(params, u, source) for _ in range(3)]
    draws = [[*(r for grp in d for r in grp), *(source.randrange(1, 2**proof_nonce_bits(params)) for _ in range(width))]
             for d in enc_draws]
    network = SignedAnnouncedValue(params, 2, keys[2].sk, split_draws(enc_draws[2])[2], 0, (0, 1, 2), source)
    result = run_round(params, encoding, key, _clients(keys, updates, guards), range(3), model=None,
                       hardening=HARDENED, network=network, rng=ReplayRandom([v for row in draws for v in row]))
    assert [a for a, _ in result.ciphertexts[2].e2] == [params.n2 - a for a, _ in network.upload.e2]
    assert result.correct


def test_e9_rogue_announced_value_is_refused(v1_or_v2_test) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    network = RogueAnnouncedValue(params, 2, keys[2].sk, [power(params.g, 5, params.n2)] * _width(params), target=0)
    with pytest.raises(ProofError, match=r"g\^r2\[2\]"):
        run_round(params, encoding, key, _clients(keys, updates, guards), range(3), hardening=HARDENED,
                  network=network, rng=SeededRandom(b"e9"))


def test_e9_rogue_key_is_refused(v1_or_v2_test) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    n2, x = params.n2, 4242
    rogue = power(params.g, x, n2) * pow(keys[0].pk * keys[1].pk % n2, -1, n2) % n2
    pairs = {**keys, 2: KeyPair(2, rogue, keys[2].proof)}  # a proof for its old key: none exists for this one
    with pytest.raises(ProofError, match="pk_2"):
        run_round(params, encoding, key, _clients(keys, updates, guards, pairs), range(3), hardening=HARDENED,
                  network=RogueKeyResponse(params, 2, x), rng=SeededRandom(b"e9 key"))


def test_e10_cancelling_client_is_refused(v1_or_v2_test) -> None:
    params = v1_or_v2_test
    encoding, key, keys, updates, guards = _world(params)
    zero = encode_v1([0] * DIM, 1, encoding, params.modulus_bits)
    network = CancellingUpload(params, 2, keys[2].sk, 0, key.betas[0], zero, draw_enc(params, 2, SeededRandom(b"zero")))
    with pytest.raises(ProofError, match=r"g\^r2\[2\]"):
        run_round(params, encoding, key, _clients(keys, updates, guards), range(3), hardening=HARDENED,
                  network=network, rng=SeededRandom(b"e10"))


def test_the_hardening_benchmark_counts_proofs_and_bytes(tmp_path) -> None:
    """benchmarks/bench_hardening.py, run small on v1 and v2 in one run: its counts follow spec 5.14 and
    10.10 (timings are not asserted)."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_hardening.py"
    spec = importlib.util.spec_from_file_location("bench_hardening", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "bench_hardening-custom.json"
    assert module.main(["--params", "v1-test-512", "v2-test-512", "--clients", "3", "--dim", str(DIM),
                        "--repeats", "2", "--out", str(tmp_path)]) == 0
    result = json.loads(out.read_text())
    v1, v2 = (result["results"][name] for name in ("v1-test-512", "v2-test-512"))
    assert v1["segments"] == v2["segments"] == 2
    element, proof = 128, 16 + 49  # n^2 of 1024 bits; c of 16 bytes, z below 2^385
    # v1: one proof per segment; per client 4 elements per segment up (E_1, the E_2 pair, T), u down.
    c = v1["per_client_round"]
    assert c["proofs_made"] == 2 and c["proofs_checked"] == 3 * 2 + 3 + 1
    assert (c["element_bytes"], c["proof_bytes"]) == (element, proof)
    assert c["upload_plain"] == 4 * 2 * element and c["upload_hardened"] - c["upload_plain"] == 2 * proof
    assert c["download_hardened"] - c["download_plain"] == 3 * 2 * (element + proof) + 3 * (element + proof) + proof
    # v2: one proof per client and round; u + 3 elements and one response up, one challenge down.
    c = v2["per_client_round"]
    assert c["proofs_made"] == 1 and c["proofs_checked"] == 3 * 1 + 3 + 1
    assert c["upload_plain"] == (2 + 3 + 1) * element and c["upload_hardened"] - c["upload_plain"] == proof
    assert c["download_plain"] == element
    assert c["download_hardened"] - c["download_plain"] == 3 * (element + proof) + 3 * (element + proof) + proof
    assert v2["micro"]["prove_fast_s"] is None and v1["micro"]["prove_fast_s"] is not None  # the fast one is v1's
    ratios = result["comparison"]["v2-test-512 / v1-test-512"]
    assert ratios["proofs_made"] == 0.5 and ratios["proofs_checked"] == 7 / 10
    assert all(r["round"]["plain_s"] >= 0 and r["round"]["hardened_s"] > 0 for r in (v1, v2))
