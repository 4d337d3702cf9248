"""ResGen (Sec. 3.3): the client's response T_i = R^{sk_i}."""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2

from .params import Params
from .validate import check_exponent, check_group_element


def res_gen(params: Params, challenge: Sequence[int], sk_i: int) -> tuple[int, ...]:
    """T_ij = R_j^{sk_i} (mod p in `paper`, mod n^2 in `v1`)."""
    check_exponent(params, sk_i, "sk_i")
    return tuple(
        int(gmpy2.powmod_sec(check_group_element(params, r, f"R_{j}"), sk_i, params.group_modulus))
        for j, r in enumerate(challenge)
    )
