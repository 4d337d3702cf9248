"""The review's findings E1..E7 and Theorem 3, shown with concrete numbers.

Each function runs the reference functions (KeyGen, SysGen, AggPKGen, Enc,
ChelGen, ResGen, Agg, Dec, encoding) on randomness drawn from `rng` and replayed
into them, and returns a frozen dataclass holding every input (every random
value included), every intermediate value and the outcome, as plain ints,
lists, bools and strings (`as_json` gives a JSON-ready dict). Nothing here
re-implements Enc or Dec; what is computed here is the attacker's or the
finding's own arithmetic (the lifted variant of E2, the unmasking of E4/E5,
the colluders' combination of Theorem 3).

Error outcomes are recorded by their stable `mpksa.errors` code.

Notation (review, part A): for x in Z*_{p^2}, lambda(x) = L(x^{p-1} mod p^2) / (p-1) mod p
is the exponent of x's component in <1+p>; anyone can compute it (`paper_lambda`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2

from .agg import agg
from .aggpkgen import agg_pk_gen, check_pk_s
from .chelgen import chel_gen, check_challenge
from .dec import dec_paper, dec_v1, l_function
from .enc import enc_paper, enc_v1
from .encoding import (
    Encoding,
    check_super_increasing,
    decode_v1,
    encode_v1,
    pack,
    recover,
)
from .errors import MpksaError, ParameterError
from .guard import RerunGuard, update_digest
from .keygen import key_gen
from .messages import Aggregate, Ciphertext, KeyPair, ServerKey
from .params import PaperParams, Params, V1Params
from .randomness import RandomSource, ReplayRandom, exponent
from .resgen import res_gen
from .sysgen import sys_gen_paper, sys_gen_v1

# ---------------------------------------------------------------------------------------------
# Small shared pieces


def _pow(x: int, e: int, m: int) -> int:
    return int(gmpy2.powmod(x, e, m))


def _inv(x: int, m: int) -> int:
    return int(gmpy2.invert(x, m))


def _prod(values: Sequence[int], m: int) -> int:
    out = 1
    for v in values:
        out = out * v % m
    return out


def paper_lambda(x: int, p: int) -> int:
    """Review notation: lambda(x) = L(x^{p-1} mod p^2) / (p-1) mod p, the <1+p> exponent of x."""
    return l_function(_pow(x, p - 1, p * p), p) * _inv(p - 1, p) % p


def lift(x: int, p: int) -> int:
    """x^p mod p^2: the element of the order-(p-1) subgroup of Z*_{p^2} congruent to x mod p (E2)."""
    return _pow(x, p, p * p)


def error_code(action: Callable[[], object]) -> str | None:
    """Run `action`; the code of the `MpksaError` it raises, or None when it succeeds."""
    try:
        action()
    except MpksaError as exc:
        return exc.code
    return None


def as_json(demo: object) -> dict[str, Any]:
    """A demo dataclass as a JSON-ready dict (tuples become lists)."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(demo))  # type: ignore[call-overload]


def _ciphertext_lists(cts: Sequence[Ciphertext]) -> tuple[list[list[int]], list[list[list[int]]]]:
    return [list(c.e1) for c in cts], [[list(pair) for pair in c.e2] for c in cts]


def _v1_encoding(clients: int, encoding: Encoding | None) -> Encoding:
    return encoding if encoding is not None else Encoding(max_clients=max(10, clients))


def _random_update(enc: Encoding, dim: int, rng: RandomSource) -> list[int]:
    """Quantized values uniform in [-q_max, q_max]."""
    return [rng.randrange(-enc.q_max, enc.q_max + 1) for _ in range(dim)]


# ---------------------------------------------------------------------------------------------
# v1 building blocks: keys, upload, responses and decryption through the reference


@dataclass(frozen=True)
class _V1Setup:
    key: ServerKey
    pairs: list[KeyPair]


def _v1_setup(params: V1Params, alpha: int, sks: Sequence[int]) -> _V1Setup:
    key = sys_gen_v1(params, ReplayRandom([alpha]))
    return _V1Setup(key, [key_gen(params, ReplayRandom([sk])) for sk in sks])


def _v1_encrypt(params: V1Params, key: ServerKey, pk_s: int, segments: Sequence[int],
                draws: Sequence[Sequence[int]]) -> Ciphertext:
    """Enc of review C.4 with explicit (r_ij1, r_ij2) per segment (enc_v1 draws r1 then r2)."""
    return enc_v1(params, key.betas[0], pk_s, segments, ReplayRandom([r for pair in draws for r in pair]))


def _draw_pairs(params: Params, count: int, rng: RandomSource) -> list[list[int]]:
    return [[exponent(params.exponent_bound, rng), exponent(params.exponent_bound, rng)] for _ in range(count)]


def _segment_count(params: V1Params, enc: Encoding, dim: int) -> int:
    return -(-(dim + 1) // enc.slots_per_segment(params.modulus_bits))


# ---------------------------------------------------------------------------------------------
# E1: the printed Dec is wrong


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
    d_over_t = aggregate.d[0] * _inv(aggregate.t[0], p) % p
    beta = key.betas[0]
    lambda_beta, lambda_dt = paper_lambda(beta, p), paper_lambda(d_over_t, p)
    r1_sum = sum(r1)  # over the integers (review E1)
    e1, e2 = _ciphertext_lists(cts)
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
    draws = _draw_pairs(params, clients, rng)
    return _e1_run(params, alpha, sks, messages, [a for a, _ in draws], [b for _, b in draws])


TOY_PAPER_PARAMS = PaperParams(name="toy-p23", seed=b"", p=23, q=11, gamma=2, g=4)


def e1_smallest_counterexample() -> E1Demo:
    """Review E1: p=23, q=11, g=4, alpha=3, sk=(2,5), m=(1,2), r1=(4,9), r2=(6,7) gives 4, not 3."""
    return _e1_run(TOY_PAPER_PARAMS, 3, [2, 5], [1, 2], [4, 9], [6, 7])


# ---------------------------------------------------------------------------------------------
# E2: lifting the masks makes Dec correct and the ciphertext transparent


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
    draws = _draw_pairs(params, clients, rng)
    key = sys_gen_paper(params, 1, ReplayRandom([alpha]))
    beta = key.betas[0]
    beta_lifted = lift(beta, p)
    pairs = [key_gen(params, ReplayRandom([sk])) for sk in sks]
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    literal = [enc_paper(params, key.betas, pk_s, [mi], ReplayRandom(d)) for mi, d in zip(messages, draws)]
    # The lifted variant (not part of the reference): E_i1 = (p+1)^m * beta'^{r_i1} mod p^2.
    e1_lifted = [_pow(p + 1, mi, p2) * _pow(beta_lifted, r1, p2) % p2 for mi, (r1, _) in zip(messages, draws)]
    cts = [Ciphertext((e,), c.e2) for e, c in zip(e1_lifted, literal)]
    challenge = chel_gen(params, cts)
    responses = [res_gen(params, challenge, kp.sk) for kp in pairs]
    aggregate = agg(params, cts, responses)
    d_over_t = aggregate.d[0] * _inv(aggregate.t[0], p) % p
    lifted_sum = l_function(aggregate.e_agg[0] * _pow(d_over_t, -p * alpha, p2) % p2, p)
    projection_input = _pow(e1_lifted[0], q, p2)
    return E2Demo(
        p=p, q=q, g=params.g, alpha=alpha, beta=beta, beta_lifted=beta_lifted, sks=sks,
        pks=[kp.pk for kp in pairs], pk_s=pk_s, messages=messages, r1=[a for a, _ in draws],
        r2=[b for _, b in draws], e1_literal=[c.e1[0] for c in literal], e1_lifted=e1_lifted,
        e2=[list(c.e2[0]) for c in literal], challenge=challenge[0], responses=[t[0] for t in responses],
        e_agg=aggregate.e_agg[0], d_over_t=d_over_t, true_sum=sum(messages) % p, lifted_sum=lifted_sum,
        target=0, projection_input=projection_input,
        projected=l_function(projection_input, p) * _inv(q, p) % p,
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
    ((r1, r2),) = _draw_pairs(params, 1, rng)
    setup_ = _v1_setup(params, alpha, sks)
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(setup_.pairs)])
    ct = _v1_encrypt(params, setup_.key, pk_s, [m], [(r1, r2)])
    e1 = ct.e1[0]
    candidates = [(n - 1) // 2, n - 1, n]
    powered = [_pow(e1, e, n2) for e in candidates]
    order_multiple = recovered = None
    if params.factors is not None:
        big_p, big_q = params.factors
        order_multiple = math.lcm(big_p - 1, big_q - 1)
        recovered = l_function(_pow(e1, order_multiple, n2), n) * _inv(order_multiple, n) % n
    return E2V1Demo(
        n=n, g=params.g, alpha=alpha, beta=setup_.key.betas[0], sks=sks, pk_s=pk_s, m=m, r1=r1, r2=r2,
        e1=e1, e2=list(ct.e2[0]), candidates=candidates, residues=[x % n for x in powered],
        errors=[error_code(lambda x=x: l_function(x, n)) for x in powered],
        order_multiple=order_multiple, recovered_with_factors=recovered,
    )


# ---------------------------------------------------------------------------------------------
# E3: the extension's shared r_i1 links the segments of one client


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
    ((r1, r2),) = _draw_pairs(params, 1, rng)
    keys = [sys_gen_v1(params, ReplayRandom([a])) for a in alphas]
    pairs = [key_gen(params, ReplayRandom([sk])) for sk in sks]
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(pairs)])
    # Segment j under its own beta_j, with the same (r_i1, r_i2): the extension's E_ij1.
    c1, c2 = (_v1_encrypt(params, k, pk_s, [m], [(r1, r2)]).e1[0] for k, m in zip(keys, (m1, m2)))
    combined = _pow(c1, alphas[1], n2) * _pow(c2, -alphas[0], n2) % n2
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
    draws = _draw_pairs(params, 2, rng)
    setup_ = _v1_setup(params, alpha, sks)
    pk_s = agg_pk_gen(params, [(i, kp.pk) for i, kp in enumerate(setup_.pairs)])
    ct = _v1_encrypt(params, setup_.key, pk_s, [m1, m2], draws)
    c1, c2 = ct.e1
    quotient = c1 * _inv(c2, n2) % n2
    guess = m1 - m2
    unguessed = quotient * _pow(1 + n, -guess, n2) % n2
    combination = _pow(c1, alpha, n2) * _pow(c2, -alpha, n2) % n2
    return E3V1Demo(
        n=n, g=params.g, alpha=alpha, beta=setup_.key.betas[0], sks=sks, pk_s=pk_s, m1=m1, m2=m2,
        r1=[a for a, _ in draws], r2=[b for _, b in draws], c1=c1, c2=c2, quotient=quotient,
        quotient_mod_n=quotient % n, error=error_code(lambda: l_function(quotient, n)),
        guessed_difference=guess, guessed_error=error_code(lambda: l_function(unguessed, n)),
        alpha_combination_error=error_code(lambda: l_function(combination, n)),
    )


# ---------------------------------------------------------------------------------------------
# A v1 upload shared by E4, E5, E7 and Theorem 3


@dataclass(frozen=True)
class _V1Upload:
    setup: _V1Setup
    pk_s: int
    quantized: list[list[int]]
    weights: list[int]
    segments: list[list[int]]
    draws: list[list[list[int]]]
    ciphertexts: list[Ciphertext]


def _draw_v1_round(params: V1Params, enc: Encoding, clients: int, dim: int, rng: RandomSource
                   ) -> tuple[int, list[int], list[list[int]], list[list[list[int]]]]:
    """Draws alpha, sk_i, each client's quantized update, then (r_ij1, r_ij2) per client and segment."""
    alpha = exponent(params.exponent_bound, rng)
    sks = [exponent(params.exponent_bound, rng) for _ in range(clients)]
    updates = [_random_update(enc, dim, rng) for _ in range(clients)]
    u = _segment_count(params, enc, dim)
    draws = [_draw_pairs(params, u, rng) for _ in range(clients)]
    return alpha, sks, updates, draws


def _v1_upload(params: V1Params, enc: Encoding, setup_: _V1Setup, online: Sequence[int],
               quantized: Sequence[Sequence[int]], weights: Sequence[int],
               draws: Sequence[Sequence[Sequence[int]]]) -> _V1Upload:
    """AggPKGen over `online`, then encode_v1 and Enc for each client of `online` (by index)."""
    pk_s = agg_pk_gen(params, [(i, setup_.pairs[i].pk) for i in online])
    segments = [encode_v1(quantized[i], weights[i], enc, params.modulus_bits) for i in online]
    cts = [_v1_encrypt(params, setup_.key, pk_s, seg, draws[i]) for seg, i in zip(segments, online)]
    return _V1Upload(setup_, pk_s, [list(quantized[i]) for i in online], [weights[i] for i in online],
                     segments, [[list(p) for p in draws[i]] for i in online], cts)


def _v1_finish(params: V1Params, enc: Encoding, up: _V1Upload, online: Sequence[int], dim: int
               ) -> tuple[tuple[int, ...], list[tuple[int, ...]], tuple[int, ...], list[int], int]:
    """The honest rest of a round: ChelGen, ResGen by each client of `online`, Agg, Dec, decode."""
    challenge = chel_gen(params, up.ciphertexts)
    responses = [res_gen(params, challenge, up.setup.pairs[i].sk) for i in online]
    sums = dec_v1(params, up.setup.key, agg(params, up.ciphertexts, responses))
    weighted, weight_sum = decode_v1(sums, enc, len(online), dim, params.modulus_bits)
    return challenge, responses, sums, weighted, weight_sum


# ---------------------------------------------------------------------------------------------
# E4: a crafted challenge unmasks one client


@dataclass(frozen=True)
class E4Demo:
    """The server sends R_j = g^{r_tj2} of target t to everyone (Sec. 3.3, active server)."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    beta: int
    sks: list[int]
    pks: list[int]
    pk_s: int
    quantized: list[list[int]]
    segments: list[list[int]]
    r1: list[list[int]]
    r2: list[list[int]]
    e1: list[list[int]]
    e2: list[list[list[int]]]
    target: int
    crafted_challenge: list[int]
    responses: list[list[int]]
    response_products: list[int]
    g_r1: list[int]
    beta_r1: list[int]
    recovered: list[int]
    honest_challenge: list[int]
    honest_check_errors: list[str | None]
    hardened_errors: list[str | None]


def e4_crafted_challenge(params: V1Params, rng: RandomSource, clients: int = 3,
                         encoding: Encoding | None = None, dim: int | None = None) -> E4Demo:
    """E4: prod_k (g^{r_t2})^{sk_k} = pk_S^{r_t2} unmasks g^{r_t1}, then beta^{r_t1}, then m_t.

    Per segment j. The hardened run: `check_challenge` with the announced g^{r_kj2} refuses the
    crafted R with `ChallengeMismatchError` at every client, and accepts the honest R.
    """
    enc = _v1_encoding(clients, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    n, n2 = params.n, params.n2
    alpha, sks, updates, draws = _draw_v1_round(params, enc, clients, dim, rng)
    setup_ = _v1_setup(params, alpha, sks)
    online = list(range(clients))
    up = _v1_upload(params, enc, setup_, online, updates, [1] * clients, draws)
    target = 0
    u = len(up.segments[target])
    crafted = tuple(up.ciphertexts[target].e2[j][0] for j in range(u))
    responses = [res_gen(params, crafted, kp.sk) for kp in setup_.pairs]
    products = [_prod([t[j] for t in responses], n2) for j in range(u)]
    g_r1 = [up.ciphertexts[target].e2[j][1] * _inv(products[j], n2) % n2 for j in range(u)]
    beta_r1 = [_pow(x, alpha, n2) for x in g_r1]
    recovered = [l_function(up.ciphertexts[target].e1[j] * _inv(beta_r1[j], n2) % n2, n) for j in range(u)]
    announced = [[a for a, _ in c.e2] for c in up.ciphertexts]
    honest = chel_gen(params, up.ciphertexts)
    e1, e2 = _ciphertext_lists(up.ciphertexts)
    return E4Demo(
        n=n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, beta=setup_.key.betas[0], sks=sks, pks=[kp.pk for kp in setup_.pairs],
        pk_s=up.pk_s, quantized=up.quantized, segments=up.segments, r1=[[a for a, _ in d] for d in draws],
        r2=[[b for _, b in d] for d in draws], e1=e1, e2=e2, target=target, crafted_challenge=list(crafted),
        responses=[list(t) for t in responses], response_products=products, g_r1=g_r1, beta_r1=beta_r1,
        recovered=recovered, honest_challenge=list(honest),
        honest_check_errors=[error_code(lambda k=k: check_challenge(params, honest, announced, announced[k]))
                             for k in online],
        hardened_errors=[error_code(lambda k=k: check_challenge(params, crafted, announced, announced[k]))
                         for k in online],
    )


# ---------------------------------------------------------------------------------------------
# E5: Sybil and forged pk_S


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
    enc = _v1_encoding(2, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    alpha, sks, updates, draws = _draw_v1_round(params, enc, 2, dim, rng)
    setup_ = _v1_setup(params, alpha, sks)
    up = _v1_upload(params, enc, setup_, [0, 1], updates, [1, 1], draws)
    challenge, responses, sums, weighted, weight_sum = _v1_finish(params, enc, up, [0, 1], dim)
    pks = [kp.pk for kp in setup_.pairs]
    return E5SybilDemo(
        n=params.n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, sks=sks, pks=pks, pk_s=up.pk_s, quantized=up.quantized,
        weights=up.weights, segments=up.segments, r1=[[a for a, _ in d] for d in draws],
        r2=[[b for _, b in d] for d in draws], challenge=list(challenge), responses=[list(t) for t in responses],
        segment_sums=list(sums), weighted_sums=weighted, weight_sum=weight_sum,
        recovered=[s - up.weights[1] * v for s, v in zip(weighted, up.quantized[1])],
        recovered_weight=weight_sum - up.weights[1],
        announced_keys_error=error_code(lambda: check_pk_s(params, up.pk_s, pks[0], pks)),
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
    ghost_pk = _pow(g, x, p)
    forged = pair.pk * ghost_pk % p
    ct = enc_paper(params, key.betas, forged, [m], ReplayRandom([r1, r2]))
    challenge = chel_gen(params, [ct])  # only client i uploaded: R = g^{r_i2}
    (response,) = res_gen(params, challenge, pair.sk)
    pk_s_r2 = response * _pow(ct.e2[0][0], x, p) % p
    g_r1 = ct.e2[0][1] * _inv(pk_s_r2, p) % p
    (printed,) = dec_paper(params, key, Aggregate(ct.e1, (ct.e2[0][1],), (pk_s_r2,)))
    beta_lifted = lift(beta, p)
    e1_lifted = _pow(p + 1, m, p2) * _pow(beta_lifted, r1, p2) % p2
    return E5ForgedDemo(
        p=p, q=q, g=g, alpha=alpha, beta=beta, sk=sk, pk=pair.pk, x=x, ghost_pk=ghost_pk, forged_pk_s=forged,
        check_error=error_code(lambda: check_pk_s(params, forged, pair.pk)),
        ghost_announced_error=error_code(lambda: check_pk_s(params, forged, pair.pk, [pair.pk, ghost_pk])),
        m=m, r1=r1, r2=r2, e1=ct.e1[0], e2=list(ct.e2[0]), challenge=challenge[0], response=response,
        pk_s_r2=pk_s_r2, g_r1=g_r1, g_r1_true=_pow(g, r1, p), printed_dec=printed,
        printed_predicted=(m + r1 * paper_lambda(beta, p) - alpha * paper_lambda(g_r1, p)) % p,
        beta_lifted=beta_lifted, e1_lifted=e1_lifted,
        lifted_recovered=l_function(e1_lifted * _pow(g_r1, -p * alpha, p2) % p2, p),
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
    draws = _draw_pairs(params, segments, rng)
    setup_ = _v1_setup(params, alpha, sks)
    pks = [kp.pk for kp in setup_.pairs]
    forged = pks[0] * _pow(g, x, n2) % n2
    ct = _v1_encrypt(params, setup_.key, forged, values, draws)
    challenge = chel_gen(params, [ct])
    response = res_gen(params, challenge, sks[0])
    recovered = []
    for j in range(segments):
        pk_s_r2 = response[j] * _pow(ct.e2[j][0], x, n2) % n2
        g_r1 = ct.e2[j][1] * _inv(pk_s_r2, n2) % n2
        recovered.append(l_function(ct.e1[j] * _pow(g_r1, -alpha, n2) % n2, n))
    return E5ForgedV1Demo(
        n=n, g=g, alpha=alpha, sks=sks, pks=pks, x=x, forged_pk_s=forged,
        check_error=error_code(lambda: check_pk_s(params, forged, pks[0])),
        announced_error=error_code(lambda: check_pk_s(params, forged, pks[0], pks)),
        segments=values, r1=[a for a, _ in draws], r2=[b for _, b in draws], e1=list(ct.e1),
        e2=[list(p) for p in ct.e2], challenge=list(challenge), response=list(response), recovered=recovered,
    )


# ---------------------------------------------------------------------------------------------
# E6: negative values


@dataclass(frozen=True)
class E6Demo:
    """Signed values through Eq. (2) and Algorithm 2 (`paper`), and through v1's offset encoding."""

    p: int
    values: list[int]
    bound: int
    a: list[int]
    packed: int
    packed_mod_p: int
    paper_decoded: list[int]
    frac_bits: int
    clip: float
    weight_max: int
    max_clients: int
    offset_v: int
    v1_segments: list[int]
    v1_decoded: list[int]
    v1_weight: int


def minimal_super_increasing(bound: int, k: int) -> list[int]:
    """Sec. 3.1 with equality plus one: a_1 = 1, a_i = 1 + bound * sum_{j<i} a_j (here (bound+1)^{i-1})."""
    a = [1]
    while len(a) < k:
        a.append(1 + bound * sum(a))
    return a


def e6_negative_values(params: PaperParams, values: Sequence[int] = (7, -2, -5, 10),
                       bound: int = 400) -> E6Demo:
    """E6: [7, -2, -5, 10] packs under a = (1, 401, 401^2, 401^3) and decodes as [7, 399, 395, 9];
    v1's offset encoding (V = 200 here, frac_bits 0) gives the values back."""
    a = minimal_super_increasing(bound, len(values))
    check_super_increasing(a, bound, params.p)
    packed = pack(values, a)
    enc = Encoding(frac_bits=0, clip=float(bound // 2), weight_max=1, max_clients=1)
    segments = encode_v1(values, 1, enc, params.modulus_bits)
    decoded, weight = decode_v1(segments, enc, 1, len(values), params.modulus_bits)
    return E6Demo(
        p=params.p, values=list(values), bound=bound, a=a, packed=packed, packed_mod_p=packed % params.p,
        paper_decoded=recover(packed % params.p, a), frac_bits=enc.frac_bits, clip=enc.clip,
        weight_max=enc.weight_max, max_clients=enc.max_clients, offset_v=enc.value_bound,
        v1_segments=segments, v1_decoded=decoded, v1_weight=weight,
    )


# ---------------------------------------------------------------------------------------------
# Theorem 3: the server and |S| - 2 colluders get m_i + m_j, not m_i


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
    enc = _v1_encoding(clients, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    n, n2 = params.n, params.n2
    alpha, sks, updates, draws = _draw_v1_round(params, enc, clients, dim, rng)
    setup_ = _v1_setup(params, alpha, sks)
    online = list(range(clients))
    up = _v1_upload(params, enc, setup_, online, updates, [1] * clients, draws)
    challenge = chel_gen(params, up.ciphertexts)
    responses = [res_gen(params, challenge, sk) for sk in sks]
    pks = [kp.pk for kp in setup_.pairs]
    i, j = 0, 1
    colluders = online[2:]
    k_sum = sum(sks[k] for k in colluders)
    u = len(challenge)
    r2_sums = [sum(draws[k][s][1] for k in colluders) for s in range(u)]
    cts = up.ciphertexts
    d_star, t_star, g_pair, pair_sums, residues, errors = [], [], [], [], [], []
    for s in range(u):
        g_r2_i, g_r2_j = cts[i].e2[s][0], cts[j].e2[s][0]
        d_pair = cts[i].e2[s][1] * cts[j].e2[s][1] % n2
        t_pair = responses[i][s] * responses[j][s] % n2
        d_star.append(d_pair * _pow(g_r2_i * g_r2_j % n2, -k_sum, n2) % n2)
        t_star.append(t_pair * _pow(pks[i] * pks[j] % n2, -r2_sums[s], n2) % n2)
        g_pair.append(d_star[s] * _inv(t_star[s], n2) % n2)
        e_pair = cts[i].e1[s] * cts[j].e1[s] % n2
        pair_sums.append(l_function(e_pair * _pow(g_pair[s], -alpha, n2) % n2, n))
        # The analogous attempt for client i alone.
        d_i = cts[i].e2[s][1] * _pow(g_r2_i, -k_sum, n2) % n2
        t_i = responses[i][s] * _pow(pks[i], -r2_sums[s], n2) % n2
        candidate = cts[i].e1[s] * _pow(d_i * _inv(t_i, n2) % n2, -alpha, n2) % n2
        residues.append(candidate % n)
        errors.append(error_code(lambda c=candidate: l_function(c, n)))
    pair_weighted, pair_weight = decode_v1(pair_sums, enc, 2, dim, params.modulus_bits)
    e1, e2 = _ciphertext_lists(cts)
    return CollusionDemo(
        n=n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, sks=sks, pks=pks, pk_s=up.pk_s, quantized=up.quantized,
        segments=up.segments, r1=[[a for a, _ in d] for d in draws], r2=[[b for _, b in d] for d in draws],
        e1=e1, e2=e2, challenge=list(challenge), responses=[list(t) for t in responses], pair=[i, j],
        colluder_sk_sum=k_sum, colluder_r2_sums=r2_sums, d_star=d_star, t_star=t_star, g_r1_pair=g_pair,
        pair_sums=pair_sums, pair_weighted_sums=pair_weighted, pair_weight_sum=pair_weight,
        single_residues=residues, single_errors=errors,
    )


# ---------------------------------------------------------------------------------------------
# E7: a false dropout and a re-run on the same updates


@dataclass(frozen=True)
class E7Demo:
    """Two honest v1 rounds on the same updates, S then S minus {target}, and the guard."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    sks: list[int]
    quantized: list[list[int]]
    weights: list[int]
    online_first: list[int]
    online_rerun: list[int]
    r1_first: list[list[int]]
    r2_first: list[list[int]]
    r1_rerun: list[list[int]]
    r2_rerun: list[list[int]]
    sums_first: list[int]
    weight_sum_first: int
    sums_rerun: list[int]
    weight_sum_rerun: int
    target: int
    difference: list[int]
    difference_weight: int
    guard_first_errors: list[str | None]
    guard_rerun_errors: list[str | None]


def _v1_round_sums(params: V1Params, enc: Encoding, setup_: _V1Setup, online: Sequence[int],
                   updates: Sequence[Sequence[int]], weights: Sequence[int],
                   draws: Sequence[Sequence[Sequence[int]]], dim: int) -> tuple[list[int], int]:
    up = _v1_upload(params, enc, setup_, online, updates, weights, draws)
    *_, weighted, weight_sum = _v1_finish(params, enc, up, online, dim)
    return weighted, weight_sum


def e7_rerun_difference(params: V1Params, rng: RandomSource, clients: int = 3,
                        encoding: Encoding | None = None, dim: int | None = None) -> E7Demo:
    """E7: a server that claims client `target` dropped and re-runs with S minus {target} on the
    same updates (fresh randomness) learns the target's update as the difference. With a
    `RerunGuard` at each client (outside the paper's model) the re-run is refused.

    Draws alpha, sk_i, updates, the first round's (r1, r2), then the re-run's."""
    if clients < 3:
        raise ParameterError(f"clients = {clients}: the re-run needs |S minus {{j}}| >= 2")
    enc = _v1_encoding(clients, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    alpha, sks, updates, draws = _draw_v1_round(params, enc, clients, dim, rng)
    target = clients - 1
    online, rerun = list(range(clients)), list(range(clients - 1))
    u = len(draws[0])
    draws_rerun = [_draw_pairs(params, u, rng) for _ in rerun]
    weights = [1] * clients
    setup_ = _v1_setup(params, alpha, sks)
    first, w_first = _v1_round_sums(params, enc, setup_, online, updates, weights, draws, dim)
    second, w_second = _v1_round_sums(params, enc, setup_, rerun, updates, weights, draws_rerun, dim)
    guards = [RerunGuard() for _ in online]
    digests = [update_digest(updates[i], weights[i]) for i in online]
    first_errors = [error_code(lambda i=i: guards[i].admit(digests[i], online)) for i in online]
    rerun_errors = [error_code(lambda i=i: guards[i].admit(digests[i], rerun)) for i in rerun]
    return E7Demo(
        n=params.n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, sks=sks, quantized=[list(q) for q in updates], weights=weights,
        online_first=online, online_rerun=rerun, r1_first=[[a for a, _ in d] for d in draws],
        r2_first=[[b for _, b in d] for d in draws], r1_rerun=[[a for a, _ in d] for d in draws_rerun],
        r2_rerun=[[b for _, b in d] for d in draws_rerun], sums_first=first, weight_sum_first=w_first,
        sums_rerun=second, weight_sum_rerun=w_second, target=target,
        difference=[a - b for a, b in zip(first, second)], difference_weight=w_first - w_second,
        guard_first_errors=first_errors, guard_rerun_errors=rerun_errors,
    )


# Function name -> the finding it shows (ids as in the errata vectors' schema).
FINDING_IDS: dict[str, str] = {
    "e1_paper_decryption": "E1",
    "e1_smallest_counterexample": "E1",
    "e2_lifted_projection": "E2",
    "e2_projection_v1": "E2",
    "e3_cross_segment_relation": "E3",
    "e3_v1_no_relation": "E3",
    "e4_crafted_challenge": "E4",
    "e5_sybil": "E5",
    "e5_forged_pk_s": "E5",
    "e5_forged_pk_s_v1": "E5",
    "e6_negative_values": "E6",
    "e7_rerun_difference": "E7",
    "theorem3_collusion": "Theorem 3",
}
