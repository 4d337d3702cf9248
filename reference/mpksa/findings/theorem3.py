"""Theorem 3: the server and |S| - 2 colluders get m_i + m_j, not m_i.

An honest `v1` round through `run_round`, then the coalition's arithmetic of the proof.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..dec import l_function
from ..encoding import Encoding, decode_v1, encode_v1
from ..errors import ParameterError
from ..params import V1Params
from ..randomness import RandomSource
from .common import (
    ciphertext_lists,
    default_encoding,
    draw_round,
    error_code,
    inverse,
    power,
    replay_round,
    replayed_keys,
)


@dataclass(frozen=True)
class CollusionDemo:
    """The proof of Theorem 3 run on v1, per segment; clients 0 and 1 are the honest pair."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    sks: list[int]
    pks: list[int]
    pk_s: int
    quantized: list[list[int]]
    segments: list[list[int]]
    r1: list[list[int]]
    r2: list[list[int]]
    e1: list[list[int]]
    e2: list[list[list[int]]]
    challenge: list[int]
    responses: list[list[int]]
    pair: list[int]
    colluder_sk_sum: int
    colluder_r2_sums: list[int]
    d_star: list[int]
    t_star: list[int]
    g_r1_pair: list[int]
    pair_sums: list[int]
    pair_weighted_sums: list[int]
    pair_weight_sum: int
    single_residues: list[int]
    single_errors: list[str | None]


def theorem3_collusion(params: V1Params, clients: int, rng: RandomSource,
                       encoding: Encoding | None = None, dim: int | None = None) -> CollusionDemo:
    """Theorem 3's proof: colluders share K = sum sk_k and sum r_k2; the server forms
    d* = d_{i&j} * (g^{r_i2} g^{r_j2})^{-K}, T* = T_{i&j} * (pk_i pk_j)^{-sum r_k2}, and
    L(E_{i&j} * (d*/T*)^{-alpha}) = m_i + m_j. The same steps for client i alone leave
    g^{r_i1 + sk_j r_i2 - sk_i r_j2}: L refuses (`LInputError`)."""
    if clients < 2:
        raise ParameterError(f"clients = {clients}: Theorem 3 needs |S| >= 2")
    enc = default_encoding(clients, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    n, n2 = params.n, params.n2
    alpha, sks, updates, draws = draw_round(params, enc, clients, dim, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    online = list(range(clients))
    result = replay_round(params, enc, key, pairs, online, updates, [1] * clients, draws)
    cts = [result.ciphertexts[k] for k in online]
    responses = [result.responses[k] for k in online]
    pks = [kp.pk for kp in pairs]
    i, j = 0, 1
    colluders = online[2:]
    k_sum = sum(sks[k] for k in colluders)
    u = len(result.challenge)
    r2_sums = [sum(draws[k][s][1] for k in colluders) for s in range(u)]
    d_star, t_star, g_pair, pair_sums, residues, errors = [], [], [], [], [], []
    for s in range(u):
        g_r2_i, g_r2_j = cts[i].e2[s][0], cts[j].e2[s][0]
        d_pair = cts[i].e2[s][1] * cts[j].e2[s][1] % n2
        t_pair = responses[i][s] * responses[j][s] % n2
        d_star.append(d_pair * power(g_r2_i * g_r2_j % n2, -k_sum, n2) % n2)
        t_star.append(t_pair * power(pks[i] * pks[j] % n2, -r2_sums[s], n2) % n2)
        g_pair.append(d_star[s] * inverse(t_star[s], n2) % n2)
        e_pair = cts[i].e1[s] * cts[j].e1[s] % n2
        pair_sums.append(l_function(e_pair * power(g_pair[s], -alpha, n2) % n2, n))
        # The analogous attempt for client i alone.
        d_i = cts[i].e2[s][1] * power(g_r2_i, -k_sum, n2) % n2
        t_i = responses[i][s] * power(pks[i], -r2_sums[s], n2) % n2
        candidate = cts[i].e1[s] * power(d_i * inverse(t_i, n2) % n2, -alpha, n2) % n2
        residues.append(candidate % n)
        errors.append(error_code(lambda c=candidate: l_function(c, n)))
    pair_weighted, pair_weight = decode_v1(pair_sums, enc, 2, dim, params.modulus_bits)
    e1, e2 = ciphertext_lists(cts)
    return CollusionDemo(
        n=n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, sks=sks, pks=pks, pk_s=result.pk_s,
        quantized=[result.quantized[k] for k in online],
        segments=[encode_v1(q, 1, enc, params.modulus_bits) for q in updates],
        r1=[[a for a, _ in d] for d in draws], r2=[[b for _, b in d] for d in draws],
        e1=e1, e2=e2, challenge=list(result.challenge), responses=[list(t) for t in responses], pair=[i, j],
        colluder_sk_sum=k_sum, colluder_r2_sums=r2_sums, d_star=d_star, t_star=t_star, g_r1_pair=g_pair,
        pair_sums=pair_sums, pair_weighted_sums=pair_weighted, pair_weight_sum=pair_weight,
        single_residues=residues, single_errors=errors,
    )
