"""E1 (Sec. 3.3): the printed Dec is wrong.

The printed equations on plaintext segments m_i (not on encoded gradients: the review's smallest
counterexample lives in a group of 5 bits, where no encoded slot fits), so the round is run
operation by operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..agg import agg
from ..aggpkgen import agg_pk_gen
from ..chelgen import chel_gen
from ..dec import dec_paper
from ..enc import enc_paper
from ..errors import ParameterError
from ..keygen import key_gen
from ..params import PaperParams
from ..randomness import RandomSource, ReplayRandom, exponent
from ..resgen import res_gen
from ..sysgen import sys_gen_paper
from .common import ciphertext_lists, draw_pairs, inverse, paper_lambda


@dataclass(frozen=True)
class E1Demo:
    """One `paper` round (one segment) as printed, and E1's prediction of what Dec returns."""

    p: int
    q: int
    g: int
    alpha: int
    beta: int
    sks: list[int]
    pks: list[int]
    pk_s: int
    messages: list[int]
    r1: list[int]
    r2: list[int]
    e1: list[int]
    e2: list[list[int]]
    challenge: int
    responses: list[int]
    e_agg: int
    d: int
    t: int
    d_over_t: int
    r1_sum: int
    lambda_beta: int
    lambda_d_over_t: int
    true_sum: int
    decrypted: int
    predicted: int


def _e1_run(params: PaperParams, alpha: int, sks: Sequence[int], messages: Sequence[int],
            r1: Sequence[int], r2: Sequence[int]) -> E1Demo:
    """Algorithm 1 lines 3 to 17 with the printed equations, then review E1's formula."""
    p = params.p
    key = sys_gen_paper(params, 1, ReplayRandom([alpha]))
    pairs = [key_gen(params, ReplayRandom([sk])) for sk in sks]
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    cts = [enc_paper(params, key.betas, pk_s, [m], ReplayRandom([a, b])) for m, a, b in zip(messages, r1, r2)]
    (challenge,) = chel_gen(params, cts)
    responses = [res_gen(params, (challenge,), kp.sk)[0] for kp in pairs]
    aggregate = agg(params, cts, [(t,) for t in responses])
    (decrypted,) = dec_paper(params, key, aggregate)
    d_over_t = aggregate.d[0] * inverse(aggregate.t[0], p) % p
    beta = key.betas[0]
    lambda_beta, lambda_dt = paper_lambda(beta, p), paper_lambda(d_over_t, p)
    r1_sum = sum(r1)  # over the integers (review E1)
    e1, e2 = ciphertext_lists(cts)
    return E1Demo(
        p=p, q=params.q, g=params.g, alpha=alpha, beta=beta, sks=list(sks), pks=[kp.pk for kp in pairs],
        pk_s=pk_s, messages=list(messages), r1=list(r1), r2=list(r2), e1=[row[0] for row in e1],
        e2=[row[0] for row in e2], challenge=challenge, responses=responses, e_agg=aggregate.e_agg[0],
        d=aggregate.d[0], t=aggregate.t[0], d_over_t=d_over_t, r1_sum=r1_sum, lambda_beta=lambda_beta,
        lambda_d_over_t=lambda_dt, true_sum=sum(messages) % p, decrypted=decrypted,
        predicted=(sum(messages) + r1_sum * lambda_beta - alpha * lambda_dt) % p,
    )


def e1_paper_decryption(params: PaperParams, rng: RandomSource, clients: int = 3) -> E1Demo:
    """E1 (Sec. 3.3): Dec returns M + R*lambda(beta) - alpha*lambda(d/T) mod p, not M.

    Draws alpha, then sk_i for each client, then m_i in [0, p // clients), then (r_i1, r_i2).
    """
    if clients < 2:
        raise ParameterError(f"clients = {clients}: E1 needs a round of at least 2 clients")
    alpha = exponent(params.q, rng)
    sks = [exponent(params.q, rng) for _ in range(clients)]
    messages = [rng.randrange(0, params.p // clients) for _ in range(clients)]
    draws = draw_pairs(params, clients, rng)
    return _e1_run(params, alpha, sks, messages, [a for a, _ in draws], [b for _, b in draws])


TOY_PAPER_PARAMS = PaperParams(name="toy-p23", seed=b"", p=23, q=11, gamma=2, g=4)


def e1_smallest_counterexample() -> E1Demo:
    """Review E1: p=23, q=11, g=4, alpha=3, sk=(2,5), m=(1,2), r1=(4,9), r2=(6,7) gives 4, not 3."""
    return _e1_run(TOY_PAPER_PARAMS, 3, [2, 5], [1, 2], [4, 9], [6, 7])
