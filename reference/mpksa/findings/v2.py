"""Profile `v2` against the findings (spec 10.9): what must not leak does not, and what would.

- E2: the public projection fails on a masked segment C_ij and on the carrier, as in `v1`.
- E3: no relation links two segments of one client under hashed bases; under structured bases
  (x_j = x * j, so h_1 * h_4 = h_2^2) anyone reads m_1 + m_4 - 2*m_2.
- E7: two uploads under one mask exponent give every difference m_ij - m'_ij; `MaskGuard` refuses.
- Theorem 3: the server and |S| - 2 colluders get r_a + r_b and the pair sum, not client a alone.

The uploads are the reference's (`enc_v2`, `run_round`); what is computed here is the finding's
own arithmetic: the projections, the structured bases, the quotients, the coalition's aggregate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..aggpkgen import agg_pk_gen
from ..dec import dec_v2, l_function
from ..enc import enc_v2
from ..encoding import Encoding, decode_v1, encode_v1
from ..errors import ParameterError
from ..guard import MaskGuard
from ..messages import Aggregate, Ciphertext
from ..params import V2Params
from ..randomness import RandomSource, ReplayRandom, exponent
from ..segment_bases import segment_bases
from .common import (
    ciphertext_lists,
    default_encoding,
    draw_mask,
    error_code,
    inverse,
    power,
    random_update,
    replay_round,
    replayed_keys,
)


def _upload(params: V2Params, alpha: int, sks: Sequence[int], segments: Sequence[int], draws: Sequence[int]
            ) -> tuple[int, int, Ciphertext]:
    """beta, pk_S over the clients of `sks`, and one client's Enc of `segments` on `draws` = (r, r1, r2)."""
    key, pairs = replayed_keys(params, alpha, sks)
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    return key.betas[0], pk_s, enc_v2(params, key.betas[0], pk_s, segments, ReplayRandom(draws))


def _check_messages(params: V2Params, messages: Sequence[int]) -> None:
    if not all(0 <= m < params.n for m in messages):
        raise ParameterError("every message must lie in [0, n)")


# ---------------------------------------------------------------------------------------------
# E2


@dataclass(frozen=True)
class E2V2Demo:
    """The E2 projection on a v2 upload (carrier and one segment) with public exponents: L refuses."""

    n: int
    g: int
    alpha: int
    beta: int
    sks: list[int]
    pk_s: int
    m: int
    r: int
    r1: int
    r2: int
    base: int
    e1: list[int]
    e2: list[int]
    candidates: list[int]
    errors: list[list[str | None]]
    order_multiple: int | None
    recovered_with_factors: list[int] | None


def e2_projection_v2(params: V2Params, m: int, rng: RandomSource) -> E2V2Demo:
    """E2 against v2: raising the carrier E_i01 or C_i1 = (1 + m*n) h_1^r to a public exponent e in
    {(n-1)/2, n-1, n} leaves a value that is not 1 mod n (the order of beta and h_1 needs the factors
    of n), so L refuses. With the factors of an insecure test modulus, e = lambda(n) recovers r from
    the carrier and m from C_i1. Draws alpha, two sk, then r, r1, r2 (Enc's order)."""
    _check_messages(params, [m])
    n, n2 = params.n, params.n2
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    draws = draw_mask(params, rng)
    beta, pk_s, ct = _upload(params, alpha, sks, [m], draws)
    candidates = [(n - 1) // 2, n - 1, n]
    errors = [[error_code(lambda x=x, e=e: l_function(power(x, e, n2), n)) for e in candidates] for x in ct.e1]
    order_multiple = recovered = None
    if params.factors is not None:
        big_p, big_q = params.factors
        order_multiple = math.lcm(big_p - 1, big_q - 1)
        recovered = [l_function(power(x, order_multiple, n2), n) * inverse(order_multiple, n) % n for x in ct.e1]
    return E2V2Demo(
        n=n, g=params.g, alpha=alpha, beta=beta, sks=sks, pk_s=pk_s, m=m, r=draws[0], r1=draws[1], r2=draws[2],
        base=segment_bases(params, 1)[0], e1=list(ct.e1), e2=list(ct.e2[0]), candidates=candidates, errors=errors,
        order_multiple=order_multiple, recovered_with_factors=recovered,
    )


# ---------------------------------------------------------------------------------------------
# E3


@dataclass(frozen=True)
class E3V2Demo:
    """Two segments of one v2 upload under hashed bases: no combination the server can form passes L."""

    n: int
    g: int
    alpha: int
    beta: int
    sks: list[int]
    pk_s: int
    m1: int
    m2: int
    r: int
    r1: int
    r2: int
    bases: list[int]
    c1: int
    c2: int
    quotient: int
    quotient_mod_n: int
    error: str | None
    guessed_difference: int
    guessed_error: str | None


def e3_v2_no_relation(params: V2Params, m1: int, m2: int, rng: RandomSource) -> E3V2Demo:
    """E3 against v2: C_1 * C_2^{-1} = (1 + (m1 - m2) n) * (h_1 / h_2)^r is not 1 mod n, and removing
    any guessed (1+n)-component, even the true m1 - m2, leaves (h_1/h_2)^r mod n: L refuses. No relation
    between h_1 and h_2 is known to anyone. Draws alpha, two sk, then r, r1, r2."""
    _check_messages(params, [m1, m2])
    n, n2 = params.n, params.n2
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    draws = draw_mask(params, rng)
    beta, pk_s, ct = _upload(params, alpha, sks, [m1, m2], draws)
    _, c1, c2 = ct.e1
    quotient = c1 * inverse(c2, n2) % n2
    guess = m1 - m2
    unguessed = quotient * power(1 + n, -guess, n2) % n2
    return E3V2Demo(
        n=n, g=params.g, alpha=alpha, beta=beta, sks=sks, pk_s=pk_s, m1=m1, m2=m2, r=draws[0], r1=draws[1],
        r2=draws[2], bases=list(segment_bases(params, 2)), c1=c1, c2=c2, quotient=quotient,
        quotient_mod_n=quotient % n, error=error_code(lambda: l_function(quotient, n)), guessed_difference=guess,
        guessed_error=error_code(lambda: l_function(unguessed, n)),
    )


@dataclass(frozen=True)
class StructuredBasesDemo:
    """One client's four segments under structured bases (x * j)^{2n} and under the hashed ones."""

    n: int
    x: int
    messages: list[int]
    r: int
    r1: int
    r2: int
    alpha: int
    sks: list[int]
    beta: int
    pk_s: int
    structured_bases: list[int]
    structured_identity: bool
    structured_e1: list[int]
    relation: int
    expected_relation: int
    hashed_bases: list[int]
    hashed_e1: list[int]
    hashed_combination: int
    hashed_error: str | None


def e3_v2_structured_bases(params: V2Params, messages: Sequence[int], rng: RandomSource) -> StructuredBasesDemo:
    """Why the bases are hashed (spec 10.3): with h'_j = (x * j)^{2n} mod n^2, h'_1 * h'_4 = h'_2^2, so
    C'_1 * C'_4 * C'_2^{-2} = 1 + (m_1 + m_4 - 2 m_2) n for every client, and L gives m_1 + m_4 - 2 m_2
    to anyone. The same combination of the reference's upload (hashed bases, same r) is not 1 mod n.
    Draws x in [2, n) with gcd(x, n) = 1, alpha, two sk, then r, r1, r2. The structured upload is the
    finding's own arithmetic, (1 + m_j n) h'_j^r, not a reference operation."""
    if len(messages) != 4:
        raise ParameterError(f"{len(messages)} messages: the relation h_1 h_4 = h_2^2 needs four segments")
    _check_messages(params, messages)
    n, n2 = params.n, params.n2
    x = rng.randrange(2, n)
    while math.gcd(x, n) != 1:
        x = rng.randrange(2, n)
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    draws = draw_mask(params, rng)
    r = draws[0]
    structured = [power(x * j % n, 2 * n, n2) for j in (1, 2, 3, 4)]
    c = [(1 + m * n) * power(h, r, n2) % n2 for m, h in zip(messages, structured)]
    combination = c[0] * c[3] * inverse(power(c[1], 2, n2), n2) % n2
    beta, pk_s, ct = _upload(params, alpha, sks, messages, draws)
    hashed = ct.e1[1:]
    hashed_combination = hashed[0] * hashed[3] * inverse(power(hashed[1], 2, n2), n2) % n2
    m1, m2, _, m4 = messages
    return StructuredBasesDemo(
        n=n, x=x, messages=list(messages), r=r, r1=draws[1], r2=draws[2], alpha=alpha, sks=sks, beta=beta,
        pk_s=pk_s, structured_bases=structured,
        structured_identity=structured[0] * structured[3] % n2 == power(structured[1], 2, n2),
        structured_e1=c, relation=l_function(combination, n), expected_relation=(m1 + m4 - 2 * m2) % n,
        hashed_bases=list(segment_bases(params, 4)), hashed_e1=list(ct.e1), hashed_combination=hashed_combination,
        hashed_error=error_code(lambda: l_function(hashed_combination, n)),
    )


# ---------------------------------------------------------------------------------------------
# E7: a reused mask exponent


@dataclass(frozen=True)
class ReusedMaskDemo:
    """Two uploads of one client under the same r (other segments, other carrier randomness)."""

    n: int
    alpha: int
    sks: list[int]
    beta: int
    pk_s: int
    r: int
    first_segments: list[int]
    second_segments: list[int]
    first_carrier: list[int]
    second_carrier: list[int]
    first_e1: list[int]
    second_e1: list[int]
    differences: list[int]
    expected_differences: list[int]
    guard_errors: list[str | None]


def e7_v2_reused_mask(params: V2Params, rng: RandomSource, segments: int = 3) -> ReusedMaskDemo:
    """Spec 10.7: C_ij / C'_ij = 1 + (m_ij - m'_ij) n when both uploads use r, so L gives every difference
    to anyone who sees both; a `MaskGuard` admits r once and refuses it the second time.
    Draws alpha, two sk, the first segments below 2^(|n|-1), the second ones, then r, the first carrier's
    r1, r2, and the second carrier's r1, r2."""
    if segments < 1:
        raise ParameterError(f"segments = {segments} must be at least 1")
    n, n2 = params.n, params.n2
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    top = 1 << (params.modulus_bits - 1)
    first = [rng.randrange(0, top) for _ in range(segments)]
    second = [rng.randrange(0, top) for _ in range(segments)]
    r = exponent(params.mask_bound, rng)
    carriers = [[exponent(params.exponent_bound, rng), exponent(params.exponent_bound, rng)] for _ in range(2)]
    beta, pk_s, one = _upload(params, alpha, sks, first, [r, *carriers[0]])
    _, _, two = _upload(params, alpha, sks, second, [r, *carriers[1]])
    guard = MaskGuard(params)
    return ReusedMaskDemo(
        n=n, alpha=alpha, sks=sks, beta=beta, pk_s=pk_s, r=r, first_segments=first, second_segments=second,
        first_carrier=carriers[0], second_carrier=carriers[1], first_e1=list(one.e1), second_e1=list(two.e1),
        differences=[l_function(a * inverse(b, n2) % n2, n) for a, b in zip(one.e1[1:], two.e1[1:])],
        expected_differences=[(a - b) % n for a, b in zip(first, second)],
        guard_errors=[error_code(lambda: guard.admit(r)), error_code(lambda: guard.admit(r))],
    )


# ---------------------------------------------------------------------------------------------
# Theorem 3


@dataclass(frozen=True)
class CollusionV2Demo:
    """Theorem 3 on v2: clients 0 and 1 are the honest pair, the rest collude with the server."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    sks: list[int]
    pks: list[int]
    quantized: list[list[int]]
    segments: list[list[int]]
    masks: list[int]
    carrier_r1: list[int]
    carrier_r2: list[int]
    e1: list[list[int]]
    e2: list[list[list[int]]]
    challenge: list[int]
    responses: list[list[int]]
    pair: list[int]
    mask_sum: int
    pair_mask_sum: int
    d_star: int
    t_star: int
    pair_e_agg: list[int]
    pair_sums: list[int]
    pair_weighted_sums: list[int]
    pair_weight_sum: int
    single_errors: list[str | None]


def theorem3_collusion_v2(params: V2Params, clients: int, rng: RandomSource,
                          encoding: Encoding | None = None, dim: int | None = None) -> CollusionV2Demo:
    """Theorem 3 on v2 (spec 10.9): after an honest round (`run_round`), the colluders give the server
    their r_k, sk_k and r_k02, so it knows r_a + r_b = R - sum_k r_k. It builds the pair's aggregate as
    in v1's proof (d* = d_pair * (g^{r_a02} g^{r_b02})^{-K}, T* = T_pair * (pk_a pk_b)^{-sum r_k02} for
    the carrier) and Dec gives m_a + m_b per segment; C_aj * h_j^{-(r_a + r_b)} alone is not 1 mod n.
    Draws alpha, sk_i, each client's update, then (r, r1, r2) per client."""
    if clients < 2:
        raise ParameterError(f"clients = {clients}: Theorem 3 needs |S| >= 2")
    enc = default_encoding(clients, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    n, n2 = params.n, params.n2
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(clients)]
    updates = [random_update(enc, dim, rng) for _ in range(clients)]
    draws = [draw_mask(params, rng) for _ in range(clients)]
    key, pairs = replayed_keys(params, alpha, sks)
    online = list(range(clients))
    # replay_round replays each client's draws in order; a v2 Enc draws the triple (r, r1, r2).
    result = replay_round(params, enc, key, pairs, online, updates, [1] * clients, [[d] for d in draws])
    cts = [result.ciphertexts[k] for k in online]
    responses = [result.responses[k] for k in online]
    pks = [kp.pk for kp in pairs]
    a, b = 0, 1
    colluders = online[2:]
    mask_sum = sum(d[0] for d in draws)
    pair_mask = mask_sum - sum(draws[k][0] for k in colluders)
    k_sum = sum(sks[k] for k in colluders)
    r02_sum = sum(draws[k][2] for k in colluders)
    d_pair = cts[a].e2[0][1] * cts[b].e2[0][1] % n2
    t_pair = responses[a][0] * responses[b][0] % n2
    d_star = d_pair * power(cts[a].e2[0][0] * cts[b].e2[0][0] % n2, -k_sum, n2) % n2
    t_star = t_pair * power(pks[a] * pks[b] % n2, -r02_sum, n2) % n2
    pair_e_agg = [x * y % n2 for x, y in zip(cts[a].e1, cts[b].e1)]
    pair_sums = list(dec_v2(params, key, Aggregate(tuple(pair_e_agg), (d_star,), (t_star,)), 2))
    bases = segment_bases(params, len(pair_sums))
    single_errors = [error_code(lambda x=x, h=h: l_function(x * power(h, -pair_mask, n2) % n2, n))
                     for x, h in zip(cts[a].e1[1:], bases)]
    pair_weighted, pair_weight = decode_v1(pair_sums, enc, 2, dim, params.modulus_bits)
    e1, e2 = ciphertext_lists(cts)
    return CollusionV2Demo(
        n=n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, sks=sks, pks=pks,
        quantized=[result.quantized[k] for k in online],
        segments=[encode_v1(q, 1, enc, params.modulus_bits) for q in updates], masks=[d[0] for d in draws],
        carrier_r1=[d[1] for d in draws], carrier_r2=[d[2] for d in draws], e1=e1, e2=e2,
        challenge=list(result.challenge), responses=[list(t) for t in responses], pair=[a, b], mask_sum=mask_sum,
        pair_mask_sum=pair_mask, d_star=d_star, t_star=t_star, pair_e_agg=pair_e_agg, pair_sums=pair_sums,
        pair_weighted_sums=pair_weighted, pair_weight_sum=pair_weight, single_errors=single_errors,
    )
