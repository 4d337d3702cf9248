"""Findings E1..E10: each flaw shown on `paper` or `v1`, and v1's defence where it has one; E8 to E10
on `v1` and `v2` alike (fixture `v1_or_v2_test`), and the other findings on `v2` at the end.

| finding | paper (or the extension / lifted variant)        | v1                                  |
|---------|--------------------------------------------------|-------------------------------------|
| E1      | Dec returns M + R*lambda(beta) - alpha*lambda(d/T) | exact sum                          |
| E2      | lifted variant: projection recovers m            | projection: L input check fails     |
| E3      | extension: alpha_2*m1 - alpha_1*m2 leaks         | fresh r per segment: no relation    |
| E4      | crafted R recovers a segment                     | refused with the challenge check    |
| E5      | forged pk_S passes the check; Sybil              | Sybil works; forged pk_S refused    |
| E6      | [7,-2,-5,10] decodes as [7,399,395,9]            | offset encoding round-trips         |
| E7      | re-run by difference                             | refused by the re-run guard         |
| E8      |                                                  | junk R reveals sk_i; beta = 1+n     |
|         |                                                  | (v2: refuses 1+n, not (1+n) g^y)    |
| E9      |                                                  | rogue value / key past the checks   |
| E10     |                                                  | a colluder cancels a client         |

The hardened round's answer to E4, E5, E7 to E10 is in tests/test_hardening.py.

Expected values are derived here from the inputs a demo records (its randomness included),
with this file's own arithmetic, never copied from the demo's outputs.
"""

from __future__ import annotations

import math

import pytest

from conftest import expected_segments
from mpksa import Client, Encoding, findings, run_round, setup
from mpksa.errors import (
    AeadError,
    AggregateKeyMismatchError,
    CarrierDecryptionError,
    DegenerateElementError,
    ChallengeMismatchError,
    LInputError,
    MalformedInputError,
    RerunRefusedError,
)
from mpksa.guard import RerunGuard, update_digest
from mpksa.params import RSA_2048
from mpksa.randomness import SeededRandom


def lam(x: int, p: int) -> int:
    """lambda(x) = L(x^{p-1} mod p^2) / (p-1) mod p, written out here independently."""
    y = pow(x, p - 1, p * p)
    assert y % p == 1
    return (y - 1) // p * pow(p - 1, -1, p) % p


# ---- E1 -------------------------------------------------------------------------------------


def test_e1_smallest_counterexample_gives_4_not_3() -> None:
    demo = findings.e1_smallest_counterexample()
    assert (demo.p, demo.q, demo.g, demo.alpha) == (23, 11, 4, 3)
    assert (demo.sks, demo.messages, demo.r1, demo.r2) == ([2, 5], [1, 2], [4, 9], [6, 7])
    assert demo.true_sum == 3
    assert demo.decrypted == 4
    assert demo.predicted == 4


@pytest.mark.parametrize("name", ["paper_test", "paper_512"])
def test_e1_paper_dec_returns_the_predicted_wrong_sum(name: str, request: pytest.FixtureRequest, seeded) -> None:
    params = request.getfixturevalue(name)
    demo = findings.e1_paper_decryption(params, seeded(), clients=3)
    p = params.p
    assert demo.true_sum == sum(demo.messages) % p
    # d/T = g^{sum r_i1} mod p (Sec. 3.3), checked from the recorded r_i1.
    assert demo.d_over_t == pow(params.g, sum(demo.r1), p)
    beta = pow(params.g, demo.alpha, p)
    predicted = (sum(demo.messages) + sum(demo.r1) * lam(beta, p) - demo.alpha * lam(demo.d_over_t, p)) % p
    assert demo.decrypted == predicted == demo.predicted
    assert demo.decrypted != demo.true_sum


def test_e1_no_random_paper_round_decrypts(paper_test) -> None:
    """Review: 0 of 800 random trials decrypted correctly; here 40 trials, all wrong."""
    wrong = [findings.e1_paper_decryption(paper_test, SeededRandom(b"e1 trial %d" % t), clients=2)
             for t in range(40)]
    assert all(d.decrypted != d.true_sum for d in wrong)
    assert all(d.decrypted == d.predicted for d in wrong)


def test_e1_v1_round_decrypts_the_exact_sum(v1_test, seeded) -> None:
    enc = Encoding(max_clients=3)
    rng = seeded()
    key, keys = setup(v1_test, enc, 40, range(3), rng)
    updates = [[((i * 5 + t) % 17 - 8) / 9 for t in range(40)] for i in range(3)]
    result = run_round(v1_test, enc, key, [Client(i, keys[i], updates[i]) for i in range(3)], range(3), rng=rng)
    expected = [sum(round(u[t] * 2**16) for u in updates) for t in range(40)]
    assert result.weighted_sums == expected
    assert result.weight_sum == 3


# ---- E2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["paper_test", "paper_512"])
def test_e2_lifted_variant_decrypts_and_projection_recovers_m(name: str, request, seeded) -> None:
    params = request.getfixturevalue(name)
    p, q = params.p, params.q
    m = 0xB0B % (p // 2)
    demo = findings.e2_lifted_projection(params, m, seeded())
    assert demo.messages[0] == m
    assert demo.lifted_sum == sum(demo.messages) % p
    # The projection, recomputed here from E_i1 and public values only.
    e1 = demo.e1_lifted[0]
    y = pow(e1, q, p * p)
    assert y % p == 1
    assert (y - 1) // p * pow(q, -1, p) % p == m == demo.projected
    # The literal E_i1 is not hiding either: lambda(E_i1) = m + r_i1*lambda(beta).
    assert lam(demo.e1_literal[0], p) == (m + demo.r1[0] * lam(demo.beta, p)) % p


def test_e2_projection_fails_on_v1(v1_test, seeded) -> None:
    m = 123456789
    demo = findings.e2_projection_v1(v1_test, m, seeded())
    n = v1_test.n
    assert demo.candidates == [(n - 1) // 2, n - 1, n]
    for e, residue, code in zip(demo.candidates, demo.residues, demo.errors):
        assert pow(demo.e1, e, n * n) % n == residue != 1
        assert code == LInputError.code
    # Why: the mask's order divides lambda(n) = lcm(P-1, Q-1), which needs the factors.
    big_p, big_q = v1_test.factors
    order = math.lcm(big_p - 1, big_q - 1)
    y = pow(demo.e1, order, n * n)
    assert (y - 1) // n * pow(order, -1, n) % n == m == demo.recovered_with_factors


def test_e2_projection_fails_on_rsa2048(rsa_short, seeded) -> None:
    demo = findings.e2_projection_v1(rsa_short, 42, seeded())
    assert demo.errors == [LInputError.code] * 3
    assert demo.order_multiple is None and demo.recovered_with_factors is None


# ---- E3 -------------------------------------------------------------------------------------


def test_e3_extension_leaks_a_linear_relation(v1_test, seeded) -> None:
    m1, m2 = 2**200 + 17, 2**150 + 99
    demo = findings.e3_cross_segment_relation(v1_test, m1, m2, seeded())
    n, n2 = v1_test.n, v1_test.n2
    a1, a2 = demo.alphas
    combined = pow(demo.c1, a2, n2) * pow(demo.c2, -a1, n2) % n2
    assert combined == (1 + n * ((a2 * m1 - a1 * m2) % n)) % n2
    assert demo.relation == (a2 * m1 - a1 * m2) % n
    # Knowing m1 (e.g. from zero headroom bits), the server solves for m2.
    assert (a2 * m1 - demo.relation) * pow(a1, -1, n) % n == m2


def test_e3_v1_fresh_randomness_leaves_no_relation(v1_test, seeded) -> None:
    m1, m2 = 2**200 + 17, 2**150 + 99
    demo = findings.e3_v1_no_relation(v1_test, m1, m2, seeded())
    n = v1_test.n
    assert demo.r1[0] != demo.r1[1]
    assert demo.quotient_mod_n == demo.c1 * pow(demo.c2, -1, n * n) % n != 1
    assert demo.error == demo.guessed_error == demo.alpha_combination_error == LInputError.code
    assert demo.guessed_difference == m1 - m2


# ---- E4 -------------------------------------------------------------------------------------


def test_e4_crafted_challenge_recovers_the_target_and_is_refused_when_hardened(v1_test, seeded) -> None:
    enc = Encoding(max_clients=10)
    demo = findings.e4_crafted_challenge(v1_test, seeded(), clients=3, encoding=enc)
    n2, t = v1_test.n2, demo.target
    r2_target = demo.r2[t]
    # The crafted R_j is the target's own g^{r_tj2}; the responses multiply to pk_S^{r_tj2}.
    assert demo.crafted_challenge == [pow(v1_test.g, r, n2) for r in r2_target]
    assert demo.response_products == [pow(demo.pk_s, r, n2) for r in r2_target]
    assert demo.g_r1 == [pow(v1_test.g, r, n2) for r in demo.r1[t]]
    assert demo.recovered == expected_segments(demo.quantized[t], 1, enc, v1_test.modulus_bits)
    assert len(demo.recovered) == 2
    assert demo.hardened_errors == [ChallengeMismatchError.code] * 3
    assert demo.honest_check_errors == [None] * 3


# ---- E5 -------------------------------------------------------------------------------------


def test_e5_sybil_gives_the_target_update(v1_test, seeded) -> None:
    demo = findings.e5_sybil(v1_test, seeded())
    assert demo.recovered == demo.quantized[0]
    assert demo.recovered_weight == demo.weights[0] == 1
    assert demo.weighted_sums == [a + b for a, b in zip(*demo.quantized)]
    assert demo.announced_keys_error is None  # the Sybil's key is a registered key


@pytest.mark.parametrize("name", ["paper_test", "paper_512"])
def test_e5_forged_pk_s_passes_the_check_and_unmasks_the_client(name: str, request, seeded) -> None:
    params = request.getfixturevalue(name)
    p, g = params.p, params.g
    demo = findings.e5_forged_pk_s(params, seeded())
    assert demo.forged_pk_s == demo.pk * pow(g, demo.x, p) % p != demo.pk
    assert demo.check_error is None
    assert demo.ghost_announced_error is None  # announcing the ghost key g^x does not help
    assert demo.g_r1 == pow(g, demo.r1, p)
    # The printed Dec on that input: E1's wrong value; in the lifted variant: m exactly.
    expected_printed = (demo.m + demo.r1 * lam(demo.beta, p) - demo.alpha * lam(demo.g_r1, p)) % p
    assert demo.printed_dec == expected_printed
    assert demo.lifted_recovered == demo.m


def test_e5_forged_pk_s_on_v1_recovers_and_announced_keys_refuse(v1_test, seeded) -> None:
    demo = findings.e5_forged_pk_s_v1(v1_test, seeded())
    assert demo.check_error is None
    assert demo.recovered == demo.segments
    assert demo.announced_error == AggregateKeyMismatchError.code


# ---- E6 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["paper_test", "paper_512"])
def test_e6_negative_values(name: str, request) -> None:
    demo = findings.e6_negative_values(request.getfixturevalue(name))
    assert demo.a == [1, 401, 401**2, 401**3]
    assert demo.packed == 7 - 2 * 401 - 5 * 401**2 + 10 * 401**3
    assert demo.paper_decoded == [7, 399, 395, 9]
    assert demo.v1_decoded == [7, -2, -5, 10]
    assert demo.v1_weight == 1


# ---- E7 -------------------------------------------------------------------------------------


def test_e7_rerun_by_difference_and_the_guard(v1_test, seeded) -> None:
    demo = findings.e7_rerun_difference(v1_test, seeded(), clients=4)
    assert demo.online_rerun == [0, 1, 2] and demo.target == 3
    assert demo.sums_first == [sum(q[t] for q in demo.quantized) for t in range(len(demo.quantized[0]))]
    assert demo.difference == demo.quantized[3]
    assert demo.difference_weight == 1
    assert demo.guard_first_errors == [None] * 4
    assert demo.guard_rerun_errors == [RerunRefusedError.code] * 3


def test_guard_allows_the_same_s_and_refuses_any_other() -> None:
    digest = update_digest([1, -2, 3], 1)
    guard = RerunGuard()
    guard.admit(digest, [0, 1, 2])
    guard.admit(digest, [2, 1, 0])  # the same S again: the same sum, nothing new
    with pytest.raises(RerunRefusedError, match=r"strictly smaller S = \[0, 1\]"):
        guard.admit(digest, [0, 1])
    with pytest.raises(RerunRefusedError, match=r"another S = \[0, 1, 2, 3\]"):
        guard.admit(digest, [0, 1, 2, 3])  # a larger S reveals the newcomer's update
    guard.admit(update_digest([1, -2, 3], 2), [0, 1])  # a fresh update is answered
    assert guard.answered(digest) == frozenset({0, 1, 2})


def test_guard_rejects_malformed_input() -> None:
    with pytest.raises(MalformedInputError):
        RerunGuard().admit(b"short", [0, 1])
    with pytest.raises(MalformedInputError):
        update_digest([1, True], 1)
    assert update_digest([1, 2], 1) != update_digest([1, 2], 2) != update_digest([12], 1)


# ---- E8 (v1 and v2) -------------------------------------------------------------------------


def _width(params) -> int:
    """Challenges per round at the demos' default dimension: one per segment in v1 (two), the carrier in v2."""
    return 1 if params.profile == "v2" else 2


def _dec_error(params) -> str:
    """The server's own Dec when the responses do not fit the uploads: L in v1, the carrier in v2."""
    return CarrierDecryptionError.code if params.profile == "v2" else LInputError.code


def test_e8_junk_challenge_reveals_every_key_and_passes_the_announced_check(v1_or_v2_test, seeded) -> None:
    import sympy

    params = v1_or_v2_test
    demo = findings.e8_junk_challenge(params, seeded())
    n, n2, g, width = params.n, params.n2, params.g, _width(params)
    # y = 0, R = 1 + n and R = -1: v1's ResGen answers them, v2's refuses them always (spec 10.5).
    assert demo.degenerate_errors == ([DegenerateElementError.code] * 2 if params.profile == "v2" else [None, None])
    junk = (1 + n) * pow(g, demo.y, n2) % n2
    assert demo.junk_challenge == [junk] * width and demo.junk_residue == pow(g, demo.y, n) not in (0, 1, n - 1)
    assert demo.junk_element_error is None  # neither the element check nor v2's mandatory one can see it
    # T_i = R^{sk_i} = (1 + sk_i*n) * pk_i^y: recomputed here, and sk_i read back.
    assert demo.junk_responses == [[pow(junk, sk, n2)] * width for sk in demo.sks]
    assert demo.recovered_sks == demo.sks
    assert demo.sign_challenge == [n2 - pow(g, demo.y, n2)] * width
    assert demo.recovered_parities == [sk % 2 for sk in demo.sks]
    # -g^y has Jacobi symbol (-1 | n): the test modulus (3 mod 4) would show it, RSA-2048 (1 mod 4) does not.
    assert demo.sign_jacobi == sympy.jacobi_symbol(n - pow(g, demo.y, n), n) == (-1 if n % 4 == 3 else 1)
    assert demo.n_mod_4 == n % 4 and RSA_2048 % 4 == 1
    # Through a colluder, the junk R passes `announce_challenge` and the honest clients answer it.
    assert demo.announced_check_errors == [None, None]
    assert demo.colluded_responses[:2] == [[pow(junk, sk, n2)] * width for sk in demo.sks[:2]]
    assert demo.colluded_recovered_sks == demo.sks[:2]
    assert demo.round_errors == [_dec_error(params)] * 3


def test_e8_junk_server_key_exposes_segments_and_a_sign_key_is_a_parity_oracle(v1_test, seeded) -> None:
    from mpksa.params import PROOF_CHALLENGE_BITS

    demo = findings.e8_junk_server_key(v1_test, seeded(), clients=2)
    n, n2, g = v1_test.n, v1_test.n2, v1_test.g
    enc = Encoding(max_clients=10)
    assert demo.beta == 1 + n and demo.beta_element_error == DegenerateElementError.code
    for i in range(2):
        segments = expected_segments(demo.quantized[i], 1, enc, v1_test.modulus_bits)
        # L(E_ij1) = m_ij + r_ij1 exactly: every bit above the exponent's 128 is m's, up to a carry.
        assert demo.leaked[i] == [m + r for m, r in zip(segments, demo.r1[i])]
        assert all(0 <= (leak >> 128) - (m >> 128) <= 1 for leak, m in zip(demo.leaked[i], segments))
    assert demo.exposed_bits == v1_test.modulus_bits - 1 - 128 == 383  # bits 128 to 510 of a segment
    assert demo.round_error == LInputError.code
    assert demo.sign_beta == n2 - pow(g, demo.alpha, n2)
    assert demo.sign_beta_element_error is None and demo.sign_beta_proof_error is None  # both pass
    assert 0 <= demo.sign_beta_proof[0] < 2**PROOF_CHALLENGE_BITS
    assert demo.dse_errors == [AeadError.code if sk % 2 else None for sk in demo.sks]
    assert all(sk % 2 == 0 for sk in demo.even_sks) and demo.even_dse_errors == [None, None]


def test_e8_junk_server_key_is_refused_by_v2_and_would_give_away_every_mask(v2_test, seeded) -> None:
    """v2 refuses beta in <1 + n> at every Enc; with that check bypassed, beta = 1 + 2^L n would have
    handed the server r_i, hence every segment; beta = -g^alpha passes and is a parity oracle."""
    demo = findings.e8_junk_server_key_v2(v2_test, seeded(), clients=2)
    n, n2, g, big_l = v2_test.n, v2_test.n2, v2_test.g, v2_test.mask_bits
    enc = Encoding(max_clients=10)
    assert demo.betas == [1 + n, 1 + 2**big_l * n] and big_l == 192
    assert demo.beta_element_errors == demo.enc_errors == [DegenerateElementError.code] * 2
    assert demo.round_error == DegenerateElementError.code  # the round stops at the first Enc
    beta = pow(g, demo.alpha, n2)
    for i in range(2):
        r, r01 = demo.masks[i], demo.r1[i][0]
        segments = expected_segments(demo.quantized[i], 1, enc, v2_test.modulus_bits)
        # The honest upload (same draws): carrier (1 + r n) beta^{r01}, then C_ij = (1 + m_ij n) h_j^r.
        assert demo.e1[i] == [(1 + r * n) * pow(beta, r01, n2) % n2,
                              *((1 + m * n) * pow(_h(v2_test, j), r, n2) % n2 for j, m in enumerate(segments, 1))]
        # The carriers without v2's check: (1 + r n)(1 + b n)^{r01} = 1 + (r + b r01) n.
        for b, carriers, leaked in zip((1, 2**big_l), demo.bypassed_carriers, demo.leaked):
            assert carriers[i] == (1 + r * n) * pow(1 + b * n, r01, n2) % n2
            assert leaked[i] == r + b * r01 < n
        assert 0 <= (demo.leaked[0][i] >> 128) - (r >> 128) <= 1  # b = 1: the top 64 bits of r, up to a carry
        assert demo.recovered_masks[i] == r and demo.recovered[i] == segments  # b = 2^L: r, then everything
    assert demo.exposed_bits == 192 - 128
    assert demo.sign_beta == n2 - beta and demo.sign_beta_element_error is None and demo.sign_beta_proof_error is None
    assert demo.dse_errors == [AeadError.code if sk % 2 else None for sk in demo.sks]
    assert all(sk % 2 == 0 for sk in demo.even_sks) and demo.even_dse_errors == [None, None]


# ---- E9 (v1 and v2) -------------------------------------------------------------------------


def test_e9_rogue_announced_value_unmasks_the_target_past_the_check(v1_or_v2_test, seeded) -> None:
    params = v1_or_v2_test
    demo = findings.e9_rogue_announced_value(params, seeded())
    n2, g, a, c = params.n2, params.g, demo.target, demo.colluder
    announced = [[pair[0] for pair in row] for row in demo.e2]
    assert [row[c] for row in zip(*announced)] == demo.rogue_values
    for j in range(_width(params)):
        column = [announced[k][j] for k in range(3)]
        assert math.prod(column) % n2 == demo.challenge[j] == announced[a][j] * pow(g, demo.y[j], n2) % n2
    assert demo.announced_check_errors == [None, None]
    assert demo.pk_s_r2 == [pow(demo.pk_s, r, n2) for r in demo.r2[a]]
    assert demo.g_r1 == [pow(g, r, n2) for r in demo.r1[a]]
    # v1: each segment opens with its g^{r_aj1}; v2: the carrier opens to r_a, and r_a opens them all.
    assert demo.recovered_masks == ([demo.masks[a]] if params.profile == "v2" else [])
    assert demo.recovered == expected_segments(demo.quantized[a], 1, Encoding(max_clients=10), params.modulus_bits)
    assert demo.round_error == _dec_error(params)


def test_e9_rogue_key_passes_the_announced_keys_and_opens_every_upload(v1_or_v2_test, seeded) -> None:
    params = v1_or_v2_test
    demo = findings.e9_rogue_key(params, seeded())
    n2, g = params.n2, params.g
    assert demo.pks[2] == demo.rogue_pk
    assert math.prod(demo.pks) % n2 == demo.pk_s == pow(g, demo.x, n2)
    assert demo.announced_keys_errors == [None, None, None]
    enc = Encoding(max_clients=10)
    assert demo.recovered_masks == (demo.masks[:2] if params.profile == "v2" else [])
    assert demo.recovered == [expected_segments(q, 1, enc, params.modulus_bits) for q in demo.quantized[:2]]
    assert demo.correct and demo.weighted_sums == [sum(col) for col in zip(*demo.quantized)]


# ---- E10 (v1 and v2) ------------------------------------------------------------------------


def test_e10_cancelling_client_leaves_the_other_client_exposed(v1_or_v2_test, seeded) -> None:
    params = v1_or_v2_test
    demo = findings.e10_cancelling_client(params, seeded())
    a, b, c = demo.victim, demo.other, demo.colluder
    enc = Encoding(max_clients=10)
    assert demo.zero_segments == expected_segments([0] * len(demo.quantized[0]), 1, enc, params.modulus_bits)
    assert len(demo.zero_masks) == (1 if params.profile == "v2" else 0)
    assert demo.announced_check_errors == [None, None]
    # The round decodes as 3 clients of weight 1, but the sum is m_b + m_c (+ 0): a is gone.
    assert demo.weight_sum == 3
    assert demo.weighted_sums == [x + y for x, y in zip(demo.quantized[b], demo.quantized[c])]
    assert demo.expected_sums == [sum(col) for col in zip(*demo.quantized)] != demo.weighted_sums
    assert demo.recovered == demo.quantized[b]
    seg_b, seg_c = (expected_segments(demo.quantized[k], 1, enc, params.modulus_bits) for k in (b, c))
    assert demo.segment_sums == [x + y + z for x, y, z in zip(seg_b, seg_c, demo.zero_segments)]
    # What the server received from c, recomputed from the draws: E_c * E_0 / E_a, component by component.
    n, n2 = params.n, params.n2
    beta = pow(params.g, demo.alpha, n2)
    seg_a = expected_segments(demo.quantized[a], 1, enc, params.modulus_bits)
    data = [x + z - y for x, y, z in zip(seg_c, seg_a, demo.zero_segments)]
    r1 = [x + z - y for x, y, z in zip(demo.r1[c], demo.r1[a], demo.zero_r1)]
    if params.profile == "v2":  # the carrier's plaintext r_c + r_0 - r_a takes r_a out of the mask sum
        mask = demo.masks[c] + demo.zero_masks[0] - demo.masks[a]
        expected = [(1 + mask * n) * pow(beta, r1[0], n2) % n2,
                    *((1 + m * n) * pow(_h(params, j), mask, n2) % n2 for j, m in enumerate(data, 1))]
    else:
        expected = [(1 + m * n) * pow(beta, r, n2) % n2 for m, r in zip(data, r1)]
    assert demo.e1[c] == expected
    assert a == 0


# ---- serialization ------------------------------------------------------------------------


def test_every_demo_serializes_to_json(v1_test, paper_test) -> None:
    import json

    rng = SeededRandom(b"json")
    demos = [
        findings.e1_smallest_counterexample(),
        findings.e6_negative_values(paper_test),
        findings.theorem3_collusion(v1_test, 3, rng),
        findings.e4_crafted_challenge(v1_test, rng),
    ]
    for demo in demos:
        text = json.dumps(findings.as_json(demo))
        assert json.loads(text) == findings.as_json(demo)
    assert set(findings.FINDING_IDS.values()) == {f"E{i}" for i in range(1, 11)} | {"Theorem 3"}
    assert all(callable(getattr(findings, name)) for name in findings.FINDING_IDS)


def test_demos_are_reproducible_from_their_seed(v1_test, paper_test) -> None:
    """The errata vectors rely on this: the same seed gives the same numbers."""
    assert findings.e1_paper_decryption(paper_test, SeededRandom(b"s")) == \
        findings.e1_paper_decryption(paper_test, SeededRandom(b"s"))
    assert findings.e7_rerun_difference(v1_test, SeededRandom(b"s")) == \
        findings.e7_rerun_difference(v1_test, SeededRandom(b"s"))
    assert findings.e1_paper_decryption(paper_test, SeededRandom(b"s")) != \
        findings.e1_paper_decryption(paper_test, SeededRandom(b"t"))


def test_demo_arguments_are_checked(v1_test, v2_test, paper_test) -> None:
    from mpksa.errors import ParameterError

    with pytest.raises(ParameterError, match="v2 refuses beta = 1 \\+ n"):
        findings.e8_junk_server_key(v2_test, SeededRandom(b"x"))
    with pytest.raises(ParameterError, match="not a v2 parameter set"):
        findings.e8_junk_server_key_v2(v1_test, SeededRandom(b"x"))

    with pytest.raises(ParameterError, match="at least 2 clients"):
        findings.e1_paper_decryption(paper_test, SeededRandom(b"x"), clients=1)
    with pytest.raises(ParameterError, match=r"Theorem 3 needs \|S\| >= 2"):
        findings.theorem3_collusion(v1_test, 1, SeededRandom(b"x"))
    with pytest.raises(ParameterError, match=r"m = .* must lie in \[0, p // clients\)"):
        findings.e2_lifted_projection(paper_test, paper_test.p, SeededRandom(b"x"))


# ---- profile v2 (spec 10.9): E2, E3 and Theorem 3 on v2 ciphertexts; structured bases; reuse -----


def _h(params, j: int) -> int:
    """h_j as spec 10.3 states it, written out here with hashlib."""
    import hashlib

    n = params.n
    size = (n.bit_length() + 7) // 8
    block = (len(b"MPKSA v2 h").to_bytes(2, "big") + b"MPKSA v2 h" + n.to_bytes(size, "big") + j.to_bytes(4, "big")
             + (0).to_bytes(4, "big"))
    x = int.from_bytes(hashlib.shake_256(block).digest(size + 16), "big") % n
    return pow(x, 2 * n, n * n)


def test_e2_projection_fails_on_v2(seeded) -> None:
    from mpksa.params import parameter_set

    params = parameter_set("v2-test-512")
    m = 987654321
    demo = findings.e2_projection_v2(params, m, seeded())
    n, n2 = params.n, params.n2
    assert demo.e1[1] == (1 + m * n) * pow(_h(params, 1), demo.r, n2) % n2
    for x, codes in zip(demo.e1, demo.errors):
        assert all(pow(x, e, n2) % n != 1 for e in ((n - 1) // 2, n - 1, n))
        assert codes == [LInputError.code] * 3
    big_p, big_q = params.factors
    order = math.lcm(big_p - 1, big_q - 1)
    opened = [(pow(x, order, n2) - 1) // n * pow(order, -1, n) % n for x in demo.e1]
    assert opened == [demo.r, m] == demo.recovered_with_factors  # the carrier holds r, C_1 holds m


def test_e3_does_not_return_on_v2_and_structured_bases_would_leak(seeded) -> None:
    from mpksa.params import parameter_set

    params = parameter_set("v2-test-512")
    n, n2 = params.n, params.n2
    demo = findings.e3_v2_no_relation(params, 4321, 99, seeded("hashed"))
    quotient = demo.c1 * pow(demo.c2, -1, n2) % n2
    assert quotient % n != 1 and quotient * pow(1 + n, -(4321 - 99), n2) % n2 % n != 1
    assert (demo.error, demo.guessed_error) == (LInputError.code, LInputError.code)
    messages = [11, 2, 5, 40]
    demo = findings.e3_v2_structured_bases(params, messages, seeded("structured"))
    h = [pow(demo.x * j % n, 2 * n, n2) for j in (1, 2, 3, 4)]
    assert h[0] * h[3] % n2 == h[1] ** 2 % n2 and demo.structured_bases == h
    c = [(1 + m * n) * pow(hj, demo.r, n2) % n2 for m, hj in zip(messages, h)]
    combined = c[0] * c[3] * pow(c[1], -2, n2) % n2
    assert (combined - 1) // n == 11 + 40 - 2 * 2 == demo.relation
    hashed = [(1 + m * n) * pow(_h(params, j), demo.r, n2) % n2 for j, m in enumerate(messages, start=1)]
    assert demo.hashed_e1[1:] == hashed
    assert (hashed[0] * hashed[3] * pow(hashed[1], -2, n2)) % n2 % n != 1
    assert demo.hashed_error == LInputError.code


def test_a_reused_mask_exponent_gives_every_difference_on_v2(seeded) -> None:
    from mpksa.params import parameter_set

    params = parameter_set("v2-rsa2048")
    demo = findings.e7_v2_reused_mask(params, seeded(), segments=3)
    n = params.n
    assert demo.differences == [(a - b) % n for a, b in zip(demo.first_segments, demo.second_segments)]
    assert demo.first_e1[0] != demo.second_e1[0]  # fresh carrier randomness does not help
    assert demo.guard_errors == [None, "exponent-reused"]


@pytest.mark.parametrize("clients", [2, 4])
def test_theorem3_on_v2_colluders_get_exactly_the_pair_sum(seeded, clients: int) -> None:
    from mpksa.params import parameter_set

    params = parameter_set("v2-test-512")
    enc = Encoding(max_clients=10)
    demo = findings.theorem3_collusion_v2(params, clients, seeded(), encoding=enc, dim=40)
    assert demo.pair_mask_sum == demo.masks[0] + demo.masks[1]
    seg_a, seg_b = (expected_segments(demo.quantized[k], 1, enc, params.modulus_bits) for k in (0, 1))
    assert demo.pair_sums == [a + b for a, b in zip(seg_a, seg_b)]
    assert demo.pair_weighted_sums == [a + b for a, b in zip(demo.quantized[0], demo.quantized[1])]
    assert demo.single_errors == [LInputError.code] * len(seg_a)
