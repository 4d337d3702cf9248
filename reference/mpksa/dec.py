"""Dec (Sec. 3.3): the server removes the masks with alpha and reads the sum with L."""

from __future__ import annotations

import gmpy2

from .errors import (
    CarrierDecryptionError,
    DimensionMismatchError,
    LInputError,
    MaskSumRangeError,
    ParameterError,
    TooFewClientsError,
    show,
)
from .messages import Aggregate, ServerKey
from .params import PaperParams, Params, V1Params, V2Params
from .segment_bases import segment_bases
from .validate import check_e1_element, check_exponent, check_group_element, check_length


def l_function(x: int, n: int) -> int:
    """L(x) = (x - 1) / n, defined only for x = 1 mod n."""
    if x % n != 1:
        raise LInputError(f"L input {show(x)} must be 1 mod n, but is {show(x % n)} mod n")
    return (x - 1) // n


def check_aggregate(params: Params, key: ServerKey, aggregate: Aggregate, segments: int) -> None:
    """Every element of (E_Agg, d, T) is a unit of its group; one (d, T) or one per segment."""
    for j, alpha in enumerate(key.alphas):
        check_exponent(params, alpha, f"alpha_{j + 1}")
    check_length(aggregate.t, len(aggregate.d), "T")
    if len(aggregate.d) not in (1, segments):
        check_length(aggregate.d, segments, "d")
    for j, e in enumerate(aggregate.e_agg):
        check_e1_element(params, e, f"E_Agg[{j}]")
    for j, (d, t) in enumerate(zip(aggregate.d, aggregate.t)):
        check_group_element(params, d, f"d[{j}]")
        check_group_element(params, t, f"T[{j}]")


def dec_paper(params: PaperParams, key: ServerKey, aggregate: Aggregate) -> tuple[int, ...]:
    """As printed: d/T mod p, then hat_j = L(E_Agg,j * (d/T)^{-alpha_j} mod p^2). Wrong: finding E1."""
    check_length(key.alphas, len(aggregate.e_agg), "alpha")
    check_length(aggregate.d, 1, "d")
    check_aggregate(params, key, aggregate, len(aggregate.e_agg))
    p, p2 = params.p, params.p2
    d_over_t = aggregate.d[0] * gmpy2.invert(aggregate.t[0], p) % p
    return tuple(
        l_function(int(e * gmpy2.powmod_sec(gmpy2.invert(d_over_t, p2), alpha, p2) % p2), p)
        for e, alpha in zip(aggregate.e_agg, key.alphas)
    )


def dec_v1(params: V1Params, key: ServerKey, aggregate: Aggregate) -> tuple[int, ...]:
    """Review C.5: M_j = L(E_Agg,j * (d_j * T_j^{-1})^{-alpha} mod n^2), all mod n^2.

    (d_j * T_j^{-1})^{-alpha} is computed as (T_j * d_j^{-1})^alpha: a positive secret exponent,
    in constant time.
    """
    check_length(key.alphas, 1, "alpha")
    check_length(aggregate.d, len(aggregate.e_agg), "d")
    check_aggregate(params, key, aggregate, len(aggregate.e_agg))
    n, n2, alpha = params.n, params.n2, key.alphas[0]
    return tuple(
        l_function(int(e * gmpy2.powmod_sec(t * gmpy2.invert(d, n2) % n2, alpha, n2) % n2), n)
        for e, d, t in zip(aggregate.e_agg, aggregate.d, aggregate.t)
    )


def check_mask_sum(params: V2Params, mask_sum: int, clients: int) -> int:
    """Spec 10.6: R must be what |S| mask exponents in [1, 2^L) sum to, |S| <= R <= |S|*(2^L - 1),
    and that range must lie below n (else R, read mod n, could have wrapped). R is not named: it is secret."""
    if clients < 2:
        raise TooFewClientsError(f"|S| = {clients}; the v2 profile needs |S| >= 2")
    top = clients * (params.mask_bound - 1)
    if top >= params.n:
        raise ParameterError(f"|S| = {clients} mask exponents of {params.mask_bits} bits can sum to n or more")
    if not clients <= mask_sum <= top:
        raise MaskSumRangeError(f"the carrier decrypts to a mask sum outside [|S|, |S|*(2^L - 1)] "
                                f"for |S| = {clients}, L = {params.mask_bits}")
    return mask_sum


def dec_v2(params: V2Params, key: ServerKey, aggregate: Aggregate, clients: int) -> tuple[int, ...]:
    """Spec 10.6: R = Dec_v1 of the carrier (segment 0), checked against |S|, then for j = 1..u
    M_j = L(E_Agg,j * h_j^{-R} mod n^2), with h_j^{-R} computed as (h_j^{-1})^R in constant time.
    """
    check_length(key.alphas, 1, "alpha")
    check_length(aggregate.d, 1, "d (v2: the carrier only)")
    if len(aggregate.e_agg) < 2:
        raise DimensionMismatchError(f"E_Agg has {len(aggregate.e_agg)} entries, expected the carrier and at least one segment")
    check_aggregate(params, key, aggregate, len(aggregate.e_agg))
    carrier = Aggregate(aggregate.e_agg[:1], aggregate.d, aggregate.t)
    try:
        (mask_sum,) = dec_v1(params, key, carrier)
    except LInputError:
        raise CarrierDecryptionError("the carrier's L input is not 1 mod n: wrong alpha, or the carriers, "
                                     "d and T of S do not belong together") from None
    check_mask_sum(params, mask_sum, clients)
    n, n2 = params.n, params.n2
    bases = segment_bases(params, len(aggregate.e_agg) - 1)
    return tuple(
        l_function(int(e * gmpy2.powmod_sec(gmpy2.invert(h, n2), mask_sum, n2) % n2), n)
        for e, h in zip(aggregate.e_agg[1:], bases)
    )
