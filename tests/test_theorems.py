"""Theorems 3 and 4 of the paper, and the single-client abort (Sec. 3.2, Sec. 4.2)."""

from __future__ import annotations

import pytest

from conftest import expected_segments, expected_weighted_sums
from mpksa import Client, Encoding, findings, run_round, setup
from mpksa.aggpkgen import agg_pk_gen, check_pk_s
from mpksa.errors import LInputError, SingleClientAbort, TooFewClientsError
from mpksa.keygen import key_gen


# ---- Theorem 3: the server and |S| - 2 colluders learn m_i + m_j, not m_i --------------------


@pytest.mark.parametrize("clients", [2, 3, 5])
def test_theorem3_colluders_get_exactly_the_pair_sum(v1_test, seeded, clients: int) -> None:
    enc = Encoding(max_clients=10)
    demo = findings.theorem3_collusion(v1_test, clients, seeded(), encoding=enc)
    n2 = v1_test.n2
    assert demo.colluder_sk_sum == sum(demo.sks[2:])
    # d*/T* = g^{r_i1 + r_j1} per segment, as in the proof.
    assert demo.g_r1_pair == [pow(v1_test.g, a + b, n2) for a, b in zip(demo.r1[0], demo.r1[1])]
    seg_i, seg_j = (expected_segments(demo.quantized[k], 1, enc, v1_test.modulus_bits) for k in (0, 1))
    assert demo.pair_sums == [a + b for a, b in zip(seg_i, seg_j)]
    assert demo.pair_weighted_sums == [a + b for a, b in zip(demo.quantized[0], demo.quantized[1])]
    assert demo.pair_weight_sum == 2
    # The same steps for m_i alone: the candidate is not 1 mod n, L refuses, segment by segment.
    assert len(demo.single_errors) == len(demo.pair_sums) == 2
    assert demo.single_errors == [LInputError.code] * 2
    assert all(r != 1 for r in demo.single_residues)


def test_theorem3_on_rsa2048(rsa_short, seeded) -> None:
    enc = Encoding(max_clients=4)
    demo = findings.theorem3_collusion(rsa_short, 4, seeded(), encoding=enc, dim=5)
    assert demo.pair_weighted_sums == [a + b for a, b in zip(demo.quantized[0], demo.quantized[1])]
    assert demo.single_errors == [LInputError.code]


# ---- Theorem 4: N - 2 dropouts before S is fixed still decrypt exactly ----------------------


@pytest.mark.parametrize("online", [(2, 5), (0, 1, 3), (0, 1, 2, 3, 4, 5)])
def test_theorem4_dropouts_before_s_decrypt_exactly(v1_test, seeded, online: tuple[int, ...]) -> None:
    registered, dim = 6, 30
    enc = Encoding(max_clients=6, weight_max=3)
    rng = seeded()
    key, keys = setup(v1_test, enc, dim, range(registered), rng)
    updates = {i: [((3 * i + 7 * t) % 23 - 11) / 10 for t in range(dim)] for i in range(registered)}
    weights = {i: 1 + i % 3 for i in range(registered)}
    clients = [Client(i, keys[i], updates[i], weights[i]) for i in range(registered)]
    result = run_round(v1_test, enc, key, clients, online, rng=rng)
    expected = expected_weighted_sums([updates[i] for i in online], [weights[i] for i in online],
                                      enc.frac_bits, enc.clip)
    assert (result.weighted_sums, result.weight_sum) == expected


# ---- the single-client abort ------------------------------------------------------------------


def test_paper_single_client_aborts(paper_test, seeded) -> None:
    enc = Encoding(max_clients=4)
    rng = seeded()
    key, keys = setup(paper_test, enc, 3, range(3), rng)
    clients = [Client(i, keys[i], [0.25, -0.5, 0.75]) for i in range(3)]
    with pytest.raises(SingleClientAbort, match="alone in S"):
        run_round(paper_test, enc, key, clients, [1], rng=rng)


@pytest.mark.parametrize("online", [(), (1,)])
def test_v1_needs_two_clients(v1_test, seeded, online: tuple[int, ...]) -> None:
    enc = Encoding(max_clients=4)
    rng = seeded()
    key, keys = setup(v1_test, enc, 3, range(3), rng)
    clients = [Client(i, keys[i], [0.25, -0.5, 0.75]) for i in range(3)]
    with pytest.raises(TooFewClientsError, match=rf"\|S\| = {len(online)}"):
        run_round(v1_test, enc, key, clients, online, rng=rng)


@pytest.mark.parametrize("name", ["paper_test", "v1_test"])
def test_check_pk_s_equal_to_own_key_aborts(name: str, request, seeded) -> None:
    params = request.getfixturevalue(name)
    pair = key_gen(params, seeded())
    with pytest.raises(SingleClientAbort):
        check_pk_s(params, pair.pk, pair.pk)
    other = key_gen(params, seeded("other"))
    check_pk_s(params, agg_pk_gen(params, [(0, pair.pk), (1, other.pk)]), pair.pk)  # |S| = 2: no abort
