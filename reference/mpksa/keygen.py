"""KeyGen (Sec. 3.1): each client picks its own key pair."""

from __future__ import annotations

import gmpy2

from .messages import KeyPair
from .params import Params
from .randomness import SYSTEM_RANDOM, RandomSource, even_exponent, exponent


def key_gen(params: Params, rng: RandomSource = SYSTEM_RANDOM, *, even: bool = False) -> KeyPair:
    """sk_i at random, pk_i = g^{sk_i} (mod p in `paper`, mod n^2 in `v1`).

    `even` (the hardening, spec 5.14): sk_i = 2*s for s drawn in [1, bound/2), so that
    (-1)^{sk_i} = 1 and a challenge or a server key of the form -g^y reveals nothing (E8).
    """
    sk = even_exponent(params.exponent_bound, rng) if even else exponent(params.exponent_bound, rng)
    return KeyPair(sk, int(gmpy2.powmod_sec(params.g, sk, params.group_modulus)))
