"""ResGen (Sec. 3.3): the client's response T_i = R^{sk_i}."""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2

from .params import Params
from .validate import check_carrier_only, check_exponent, check_power_base


def res_gen(params: Params, challenge: Sequence[int], sk_i: int) -> tuple[int, ...]:
    """T_ij = R_j^{sk_i} (mod p in `paper`, mod n^2 in `v1` and `v2`; `v2` answers the carrier's R_0 only)."""
    check_exponent(params, sk_i, "sk_i")
    check_carrier_only(params, challenge, "R")
    return tuple(
        int(gmpy2.powmod_sec(check_power_base(params, r, f"R_{j}"), sk_i, params.group_modulus))
        for j, r in enumerate(challenge)
    )
