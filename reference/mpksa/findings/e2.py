"""E2: lifting the masks makes Dec correct and the ciphertext transparent; the same projection
fails on `v1`. Single Enc operations and the attacker's own arithmetic."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..agg import agg
from ..aggpkgen import agg_pk_gen
from ..chelgen import chel_gen
from ..dec import l_function
from ..enc import enc_paper, enc_v1
from ..errors import ParameterError
from ..keygen import key_gen
from ..messages import Ciphertext
from ..params import PaperParams, V1Params
from ..randomness import RandomSource, ReplayRandom, exponent
from ..resgen import res_gen
from ..sysgen import sys_gen_paper
from .common import draw_pairs, error_code, inverse, lift, paper_lambda, power, replayed_keys


@dataclass(frozen=True)
class E2Demo:
    """The lifted variant (beta' = beta^p mod p^2; (d/T)^{p*alpha} in Dec) and the projection."""

    p: int
    q: int
    g: int
    alpha: int
    beta: int
    beta_lifted: int
    sks: list[int]
    pks: list[int]
    pk_s: int
    messages: list[int]
    r1: list[int]
    r2: list[int]
    e1_literal: list[int]
    e1_lifted: list[int]
    e2: list[list[int]]
    challenge: int
    responses: list[int]
    e_agg: int
    d_over_t: int
    true_sum: int
    lifted_sum: int
    target: int
    projection_input: int
    projected: int
    literal_lambda: int
    literal_lambda_predicted: int


def e2_lifted_projection(params: PaperParams, m: int, rng: RandomSource, clients: int = 2) -> E2Demo:
    """E2: the lifted variant decrypts correctly, and m = L(E_i1^q mod p^2) * q^{-1} mod p.

    Client 0 holds m. Draws alpha, sk_i, the other clients' messages in [0, p // clients),
    then (r_i1, r_i2) per client. Also shows lambda(E_i1) = m + r_i1*lambda(beta) on the
    literal ciphertext (the literal E_i1 is not IND-CPA either).
    """
    p, p2, q = params.p, params.p2, params.q
    if not 0 <= m < p // clients:
        raise ParameterError(f"m = {m} must lie in [0, p // clients) so that the sum stays below p")
    alpha = exponent(q, rng)
    sks = [exponent(q, rng) for _ in range(clients)]
    messages = [m] + [rng.randrange(0, p // clients) for _ in range(clients - 1)]
    draws = draw_pairs(params, clients, rng)
    key = sys_gen_paper(params, 1, ReplayRandom([alpha]))
    beta = key.betas[0]
    beta_lifted = lift(beta, p)
    pairs = [key_gen(params, ReplayRandom([sk])) for sk in sks]
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    literal = [enc_paper(params, key.betas, pk_s, [mi], ReplayRandom(d)) for mi, d in zip(messages, draws)]
    # The lifted variant (not part of the reference): E_i1 = (p+1)^m * beta'^{r_i1} mod p^2.
    e1_lifted = [power(p + 1, mi, p2) * power(beta_lifted, r1, p2) % p2 for mi, (r1, _) in zip(messages, draws)]
    cts = [Ciphertext((e,), c.e2) for e, c in zip(e1_lifted, literal)]
    challenge = chel_gen(params, cts)
    responses = [res_gen(params, challenge, kp.sk) for kp in pairs]
    aggregate = agg(params, cts, responses)
    d_over_t = aggregate.d[0] * inverse(aggregate.t[0], p) % p
    lifted_sum = l_function(aggregate.e_agg[0] * power(d_over_t, -p * alpha, p2) % p2, p)
    projection_input = power(e1_lifted[0], q, p2)
    return E2Demo(
        p=p, q=q, g=params.g, alpha=alpha, beta=beta, beta_lifted=beta_lifted, sks=sks,
        pks=[kp.pk for kp in pairs], pk_s=pk_s, messages=messages, r1=[a for a, _ in draws],
        r2=[b for _, b in draws], e1_literal=[c.e1[0] for c in literal], e1_lifted=e1_lifted,
        e2=[list(c.e2[0]) for c in literal], challenge=challenge[0], responses=[t[0] for t in responses],
        e_agg=aggregate.e_agg[0], d_over_t=d_over_t, true_sum=sum(messages) % p, lifted_sum=lifted_sum,
        target=0, projection_input=projection_input,
        projected=l_function(projection_input, p) * inverse(q, p) % p,
        literal_lambda=paper_lambda(literal[0].e1[0], p),
        literal_lambda_predicted=(m + draws[0][0] * paper_lambda(beta, p)) % p,
    )


@dataclass(frozen=True)
class E2V1Demo:
    """The E2 projection tried on a v1 ciphertext with public exponents: the L input check fails."""

    n: int
    g: int
    alpha: int
    beta: int
    sks: list[int]
    pk_s: int
    m: int
    r1: int
    r2: int
    e1: int
    e2: list[int]
    candidates: list[int]
    residues: list[int]
    errors: list[str | None]
    order_multiple: int | None
    recovered_with_factors: int | None


def e2_projection_v1(params: V1Params, m: int, rng: RandomSource) -> E2V1Demo:
    """E2 against v1: the projection needs the order of the mask beta^{r}, which is unknown.

    In `paper` the mask group has public order q. In Z*_{n^2} the order of g divides
    lambda(n) = lcm(P-1, Q-1), which needs the factors of n. The public candidates
    (n-1)/2, n-1 and n (the analogues of q, p-1 and p) leave E_1^e not 1 mod n, so L
    refuses. With the known factors of an insecure test modulus, e = lambda(n) does
    recover m: the protection is exactly the secrecy of the factorization.
    """
    n, n2 = params.n, params.n2
    if not 0 <= m < n:
        raise ParameterError(f"m = {m} must lie in [0, n)")
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    ((r1, r2),) = draw_pairs(params, 1, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    ct = enc_v1(params, key.betas[0], pk_s, [m], ReplayRandom([r1, r2]))
    e1 = ct.e1[0]
    candidates = [(n - 1) // 2, n - 1, n]
    powered = [power(e1, e, n2) for e in candidates]
    order_multiple = recovered = None
    if params.factors is not None:
        big_p, big_q = params.factors
        order_multiple = math.lcm(big_p - 1, big_q - 1)
        recovered = l_function(power(e1, order_multiple, n2), n) * inverse(order_multiple, n) % n
    return E2V1Demo(
        n=n, g=params.g, alpha=alpha, beta=key.betas[0], sks=sks, pk_s=pk_s, m=m, r1=r1, r2=r2,
        e1=e1, e2=list(ct.e2[0]), candidates=candidates, residues=[x % n for x in powered],
        errors=[error_code(lambda x=x: l_function(x, n)) for x in powered],
        order_multiple=order_multiple, recovered_with_factors=recovered,
    )
