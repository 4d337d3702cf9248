"""Dec (Sec. 3.3): the server removes the masks with alpha and reads the sum with L."""

from __future__ import annotations

import gmpy2

from .errors import LInputError, show
from .messages import Aggregate, ServerKey
from .params import PaperParams, Params, V1Params
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
