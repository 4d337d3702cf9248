"""Enc (Sec. 3.2, Eq. (2) and Sec. 3.4): encrypt the packed segments of one client."""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2

from .errors import DimensionMismatchError, QuantizationRangeError
from .messages import Ciphertext
from .params import PaperParams, V1Params, V2Params
from .randomness import SYSTEM_RANDOM, RandomSource, exponent
from .segment_bases import segment_bases
from .validate import check_group_element, check_integer, check_length, check_power_base


def enc_paper(params: PaperParams, betas: Sequence[int], pk_s: int, hats: Sequence[int],
              rng: RandomSource = SYSTEM_RANDOM) -> Ciphertext:
    """As printed: one (r_i1, r_i2) in Z_q for all u segments.

    E_ij1 = (p+1)^{hat_ij} * beta_j^{r_i1} mod p^2,
    E_i2 = (g^{r_i2} mod p, g^{r_i1} * pk_S^{r_i2} mod p).
    """
    check_length(betas, len(hats), "beta")
    for j, b in enumerate(betas):
        check_group_element(params, b, f"beta_{j + 1}")
    check_group_element(params, pk_s, "pk_S")
    p, p2 = params.p, params.p2
    r1, r2 = exponent(params.q, rng), exponent(params.q, rng)
    e1 = tuple(int(gmpy2.powmod(p + 1, m, p2) * gmpy2.powmod_sec(b, r1, p2) % p2) for m, b in zip(hats, betas))
    e2 = (int(gmpy2.powmod_sec(params.g, r2, p)), int(gmpy2.powmod_sec(params.g, r1, p) * gmpy2.powmod_sec(pk_s, r2, p) % p))
    return Ciphertext(e1, (e2,))


def enc_v1(params: V1Params, beta: int, pk_s: int, segments: Sequence[int],
           rng: RandomSource = SYSTEM_RANDOM) -> Ciphertext:
    """Review C.4: fresh (r_ij1, r_ij2) for every segment j; draws r_ij1 then r_ij2.

    E_ij1 = (1 + m_ij*n) * beta^{r_ij1} mod n^2,
    E_ij2 = (g^{r_ij2}, g^{r_ij1} * pk_S^{r_ij2}) mod n^2.
    """
    n, n2, g = params.n, params.n2, params.g
    check_group_element(params, beta, "beta")
    check_group_element(params, pk_s, "pk_S")
    e1, e2 = [], []
    for j, m in enumerate(segments):
        m = check_integer(m, f"segment m_{j}")
        if not 0 <= m < n:
            raise QuantizationRangeError(f"segment m_{j} must lie in [0, n)")
        r1, r2 = exponent(params.exponent_bound, rng), exponent(params.exponent_bound, rng)
        e1.append(int((1 + m * n) * gmpy2.powmod_sec(beta, r1, n2) % n2))
        e2.append((int(gmpy2.powmod_sec(g, r2, n2)), int(gmpy2.powmod_sec(g, r1, n2) * gmpy2.powmod_sec(pk_s, r2, n2) % n2)))
    return Ciphertext(tuple(e1), tuple(e2))


def enc_v2(params: V2Params, beta: int, pk_s: int, segments: Sequence[int],
           rng: RandomSource = SYSTEM_RANDOM) -> Ciphertext:
    """Spec 10.4: one fresh mask exponent r_i for all u segments, then the carrier; draws r_i, r_i01, r_i02.

    C_ij = (1 + m_ij*n) * h_j^{r_i} mod n^2 for j = 1..u, and the carrier is the v1 segment of the
    plaintext r_i: e1 = (E_i01, C_i1, ..., C_iu), e2 = ((g^{r_i02}, g^{r_i01} * pk_S^{r_i02}),).
    """
    n, n2 = params.n, params.n2
    check_power_base(params, beta, "beta")
    check_power_base(params, pk_s, "pk_S")
    if not segments:
        raise DimensionMismatchError("there are no segments to encrypt: u must be at least 1")
    messages = [check_integer(m, f"segment m_{j + 1}") for j, m in enumerate(segments)]
    for j, m in enumerate(messages):
        if not 0 <= m < n:
            raise QuantizationRangeError(f"segment m_{j + 1} must lie in [0, n)")
    r = exponent(params.mask_bound, rng)
    data = [int((1 + m * n) * gmpy2.powmod_sec(h, r, n2) % n2) for m, h in zip(messages, segment_bases(params, len(messages)))]
    carrier = enc_v1(params, beta, pk_s, [r], rng)
    return Ciphertext((carrier.e1[0], *data), carrier.e2)
