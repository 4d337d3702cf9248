"""SysGen (Sec. 3.1): the server's key (alpha, beta = g^alpha).

The group itself comes from a named parameter set (params.py); the
super-increasing vector a from the encoding (encoding.py).
"""

from __future__ import annotations

import gmpy2

from .messages import ServerKey
from .params import PaperParams, V1Params
from .randomness import SYSTEM_RANDOM, RandomSource, exponent


def sys_gen_paper(params: PaperParams, u: int, rng: RandomSource = SYSTEM_RANDOM) -> ServerKey:
    """Sec. 3.4: alpha_j in Z_q and beta_j = g^{alpha_j} mod p, one pair per segment."""
    alphas = tuple(exponent(params.q, rng) for _ in range(u))
    return ServerKey(alphas, tuple(int(gmpy2.powmod_sec(params.g, a, params.p)) for a in alphas))


def sys_gen_v1(params: V1Params, rng: RandomSource = SYSTEM_RANDOM) -> ServerKey:
    """Review C.3: one alpha, beta = g^alpha mod n^2."""
    alpha = exponent(params.exponent_bound, rng)
    return ServerKey((alpha,), (int(gmpy2.powmod_sec(params.g, alpha, params.n2)),))
