"""E3 (Sec. 3.4): the extension's shared r_i1 links the segments of one client; `v1`'s fresh
randomness per segment does not. Single Enc operations and the server's own arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

from ..aggpkgen import agg_pk_gen
from ..dec import l_function
from ..enc import enc_v1
from ..keygen import key_gen
from ..params import V1Params
from ..randomness import RandomSource, ReplayRandom, exponent
from ..sysgen import sys_gen_v1
from .common import draw_pairs, error_code, inverse, power, replayed_keys


@dataclass(frozen=True)
class E3Demo:
    """Sec. 3.4's structure in Z*_{n^2}: u = 2 server keys, one r_i1 for both segments."""

    n: int
    g: int
    alphas: list[int]
    betas: list[int]
    sks: list[int]
    pk_s: int
    m1: int
    m2: int
    r1: int
    r2: int
    c1: int
    c2: int
    combined: int
    relation: int
    expected_relation: int


def e3_cross_segment_relation(params: V1Params, m1: int, m2: int, rng: RandomSource) -> E3Demo:
    """E3: C_1^{alpha_2} * C_2^{-alpha_1} = (1+n)^{alpha_2*m1 - alpha_1*m2} mod n^2.

    The server knows alpha_1 and alpha_2, so L of the combination is alpha_2*m1 - alpha_1*m2 mod n.
    Draws alpha_1, alpha_2, two client keys, then the one (r_i1, r_i2) of the extension.
    """
    n, n2 = params.n, params.n2
    alphas = [exponent(params.exponent_bound, rng) for _ in range(2)]
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    ((r1, r2),) = draw_pairs(params, 1, rng)
    keys = [sys_gen_v1(params, ReplayRandom([a])) for a in alphas]
    pairs = [key_gen(params, ReplayRandom([sk])) for sk in sks]
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    # Segment j under its own beta_j, with the same (r_i1, r_i2): the extension's E_ij1.
    c1, c2 = (enc_v1(params, k.betas[0], pk_s, [m], ReplayRandom([r1, r2])).e1[0] for k, m in zip(keys, (m1, m2)))
    combined = power(c1, alphas[1], n2) * power(c2, -alphas[0], n2) % n2
    return E3Demo(
        n=n, g=params.g, alphas=alphas, betas=[k.betas[0] for k in keys], sks=sks, pk_s=pk_s, m1=m1, m2=m2,
        r1=r1, r2=r2, c1=c1, c2=c2, combined=combined, relation=l_function(combined, n),
        expected_relation=(alphas[1] * m1 - alphas[0] * m2) % n,
    )


@dataclass(frozen=True)
class E3V1Demo:
    """Real v1 ciphertexts: one alpha, fresh (r_ij1, r_ij2) per segment; no relation appears."""

    n: int
    g: int
    alpha: int
    beta: int
    sks: list[int]
    pk_s: int
    m1: int
    m2: int
    r1: list[int]
    r2: list[int]
    c1: int
    c2: int
    quotient: int
    quotient_mod_n: int
    error: str | None
    guessed_difference: int
    guessed_error: str | None
    alpha_combination_error: str | None


def e3_v1_no_relation(params: V1Params, m1: int, m2: int, rng: RandomSource) -> E3V1Demo:
    """E3 against v1: C_1 * C_2^{-1} = (1+n)^{m1-m2} * beta^{r_11 - r_21} is not 1 mod n.

    Every (1+n)-component is 1 mod n, so removing any guessed one, even the true m1 - m2,
    leaves the residue beta^{r_11 - r_21} mod n and L still refuses (`LInputError`).
    """
    n, n2 = params.n, params.n2
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(2)]
    draws = draw_pairs(params, 2, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    ct = enc_v1(params, key.betas[0], pk_s, [m1, m2], ReplayRandom([r for pair in draws for r in pair]))
    c1, c2 = ct.e1
    quotient = c1 * inverse(c2, n2) % n2
    guess = m1 - m2
    unguessed = quotient * power(1 + n, -guess, n2) % n2
    combination = power(c1, alpha, n2) * power(c2, -alpha, n2) % n2
    return E3V1Demo(
        n=n, g=params.g, alpha=alpha, beta=key.betas[0], sks=sks, pk_s=pk_s, m1=m1, m2=m2,
        r1=[a for a, _ in draws], r2=[b for _, b in draws], c1=c1, c2=c2, quotient=quotient,
        quotient_mod_n=quotient % n, error=error_code(lambda: l_function(quotient, n)),
        guessed_difference=guess, guessed_error=error_code(lambda: l_function(unguessed, n)),
        alpha_combination_error=error_code(lambda: l_function(combination, n)),
    )
