"""E5 (Sec. 3.2, active server): a Sybil client, and a forged pk_S.

The Sybil is a whole `v1` round through `run_round`. The forged pk_S is the exchange of one
client alone with the server on a plaintext segment (Enc, ChelGen, ResGen), run operation by
operation on `paper` and on `v1`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..aggpkgen import check_pk_s
from ..chelgen import chel_gen
from ..dec import dec_paper, l_function
from ..enc import enc_paper, enc_v1
from ..encoding import Encoding, encode_v1
from ..keygen import key_gen
from ..messages import Aggregate
from ..params import PaperParams, V1Params
from ..randomness import RandomSource, ReplayRandom, exponent
from ..resgen import res_gen
from ..sysgen import sys_gen_paper
from .common import (
    default_encoding,
    draw_pairs,
    draw_round,
    error_code,
    inverse,
    lift,
    paper_lambda,
    power,
    replay_round,
    replayed_keys,
)


@dataclass(frozen=True)
class E5SybilDemo:
    """S = {target, sybil}: the server controls the sybil and subtracts its known update."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    sks: list[int]
    pks: list[int]
    pk_s: int
    quantized: list[list[int]]
    weights: list[int]
    segments: list[list[int]]
    r1: list[list[int]]
    r2: list[list[int]]
    challenge: list[int]
    responses: list[list[int]]
    segment_sums: list[int]
    weighted_sums: list[int]
    weight_sum: int
    recovered: list[int]
    recovered_weight: int
    announced_keys_error: str | None


def e5_sybil(params: V1Params, rng: RandomSource, encoding: Encoding | None = None,
             dim: int | None = None) -> E5SybilDemo:
    """E5 (Sec. 3.2): a server-controlled client in S with |S| = 2 gives the target's update.

    Shown on v1, whose Dec is correct (on `paper`, E1 garbles every sum anyway). The
    announced-keys check passes: the sybil's key is a registered key. Only a minimum |S|
    above the number of sybils the server can field helps; that is outside the paper's model.
    Client 0 is the target, client 1 the sybil.
    """
    enc = default_encoding(2, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    alpha, sks, updates, draws = draw_round(params, enc, 2, dim, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    weights = [1, 1]
    result = replay_round(params, enc, key, pairs, [0, 1], updates, weights, draws)
    pks = [kp.pk for kp in pairs]
    return E5SybilDemo(
        n=params.n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, sks=sks, pks=pks, pk_s=result.pk_s,
        quantized=[result.quantized[i] for i in (0, 1)], weights=weights,
        segments=[encode_v1(q, w, enc, params.modulus_bits) for q, w in zip(updates, weights)],
        r1=[[a for a, _ in d] for d in draws], r2=[[b for _, b in d] for d in draws],
        challenge=list(result.challenge), responses=[list(result.responses[i]) for i in (0, 1)],
        segment_sums=list(result.segment_sums), weighted_sums=result.weighted_sums, weight_sum=result.weight_sum,
        recovered=[s - weights[1] * v for s, v in zip(result.weighted_sums, updates[1])],
        recovered_weight=result.weight_sum - weights[1],
        announced_keys_error=error_code(lambda: check_pk_s(params, result.pk_s, pks[0], pks)),
    )


@dataclass(frozen=True)
class E5ForgedDemo:
    """pk_S = pk_i * g^x on `paper`: the check pk_S != pk_i passes and g^{r_i1} comes out."""

    p: int
    q: int
    g: int
    alpha: int
    beta: int
    sk: int
    pk: int
    x: int
    ghost_pk: int
    forged_pk_s: int
    check_error: str | None
    ghost_announced_error: str | None
    m: int
    r1: int
    r2: int
    e1: int
    e2: list[int]
    challenge: int
    response: int
    pk_s_r2: int
    g_r1: int
    g_r1_true: int
    printed_dec: int
    printed_predicted: int
    beta_lifted: int
    e1_lifted: int
    lifted_recovered: int


def e5_forged_pk_s(params: PaperParams, rng: RandomSource) -> E5ForgedDemo:
    """E5 (Sec. 3.2): pk_S = pk_i * g^x passes the check, and the server unmasks client i.

    The server sends R = g^{r_i2}, gets T_i = R^{sk_i} and forms pk_S^{r_i2} = T_i * (g^{r_i2})^x,
    hence g^{r_i1} = E_i2[1] / pk_S^{r_i2}: exactly the decryption input of a round with S = {i},
    the case the check pk_S != pk_i was meant to forbid. With the printed Dec that input gives
    E1's wrong value (`printed_dec` = m + r_i1*lambda(beta) - alpha*lambda(g^{r_i1})); in the lifted
    variant, whose Dec is correct, it gives m_i exactly (`lifted_recovered`). Announcing the keys
    does not help when the server announces the ghost key g^x as a client of S.
    Draws alpha, sk_i, x, m in [0, p), r_i1, r_i2.
    """
    p, p2, q, g = params.p, params.p2, params.q, params.g
    alpha, sk, x = (exponent(q, rng) for _ in range(3))
    m = rng.randrange(0, p)
    r1, r2 = exponent(q, rng), exponent(q, rng)
    key = sys_gen_paper(params, 1, ReplayRandom([alpha]))
    beta = key.betas[0]
    pair = key_gen(params, ReplayRandom([sk]))
    ghost_pk = power(g, x, p)
    forged = pair.pk * ghost_pk % p
    ct = enc_paper(params, key.betas, forged, [m], ReplayRandom([r1, r2]))
    challenge = chel_gen(params, [ct])  # only client i uploaded: R = g^{r_i2}
    (response,) = res_gen(params, challenge, pair.sk)
    pk_s_r2 = response * power(ct.e2[0][0], x, p) % p
    g_r1 = ct.e2[0][1] * inverse(pk_s_r2, p) % p
    (printed,) = dec_paper(params, key, Aggregate(ct.e1, (ct.e2[0][1],), (pk_s_r2,)))
    beta_lifted = lift(beta, p)
    e1_lifted = power(p + 1, m, p2) * power(beta_lifted, r1, p2) % p2
    return E5ForgedDemo(
        p=p, q=q, g=g, alpha=alpha, beta=beta, sk=sk, pk=pair.pk, x=x, ghost_pk=ghost_pk, forged_pk_s=forged,
        check_error=error_code(lambda: check_pk_s(params, forged, pair.pk)),
        ghost_announced_error=error_code(lambda: check_pk_s(params, forged, pair.pk, [pair.pk, ghost_pk])),
        m=m, r1=r1, r2=r2, e1=ct.e1[0], e2=list(ct.e2[0]), challenge=challenge[0], response=response,
        pk_s_r2=pk_s_r2, g_r1=g_r1, g_r1_true=power(g, r1, p), printed_dec=printed,
        printed_predicted=(m + r1 * paper_lambda(beta, p) - alpha * paper_lambda(g_r1, p)) % p,
        beta_lifted=beta_lifted, e1_lifted=e1_lifted,
        lifted_recovered=l_function(e1_lifted * power(g_r1, -p * alpha, p2) % p2, p),
    )


@dataclass(frozen=True)
class E5ForgedV1Demo:
    """pk_S = pk_i * g^x on v1: full recovery, refused when the registered keys are announced."""

    n: int
    g: int
    alpha: int
    sks: list[int]
    pks: list[int]
    x: int
    forged_pk_s: int
    check_error: str | None
    announced_error: str | None
    segments: list[int]
    r1: list[int]
    r2: list[int]
    e1: list[int]
    e2: list[list[int]]
    challenge: list[int]
    response: list[int]
    recovered: list[int]


def e5_forged_pk_s_v1(params: V1Params, rng: RandomSource, segments: int = 2) -> E5ForgedV1Demo:
    """E5 on v1: the forged pk_S gives every segment of client 0 exactly; the hardening
    (announce the keys of S, here the two registered keys) refuses it with
    `AggregateKeyMismatchError`. Draws alpha, two sk, x, the segments below 2^(|n|-1), r pairs."""
    n, n2, g = params.n, params.n2, params.g
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    x = exponent(params.exponent_bound, rng)
    values = [rng.randrange(0, 1 << (params.modulus_bits - 1)) for _ in range(segments)]
    draws = draw_pairs(params, segments, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    pks = [kp.pk for kp in pairs]
    forged = pks[0] * power(g, x, n2) % n2
    ct = enc_v1(params, key.betas[0], forged, values, ReplayRandom([r for pair in draws for r in pair]))
    challenge = chel_gen(params, [ct])
    response = res_gen(params, challenge, sks[0])
    recovered = []
    for j in range(segments):
        pk_s_r2 = response[j] * power(ct.e2[j][0], x, n2) % n2
        g_r1 = ct.e2[j][1] * inverse(pk_s_r2, n2) % n2
        recovered.append(l_function(ct.e1[j] * power(g_r1, -alpha, n2) % n2, n))
    return E5ForgedV1Demo(
        n=n, g=g, alpha=alpha, sks=sks, pks=pks, x=x, forged_pk_s=forged,
        check_error=error_code(lambda: check_pk_s(params, forged, pks[0])),
        announced_error=error_code(lambda: check_pk_s(params, forged, pks[0], pks)),
        segments=values, r1=[a for a, _ in draws], r2=[b for _, b in draws], e1=list(ct.e1),
        e2=[list(p) for p in ct.e2], challenge=list(challenge), response=list(response), recovered=recovered,
    )
