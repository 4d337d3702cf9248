"""KeyGen (Sec. 3.1): each client picks its own key pair."""

from __future__ import annotations

import gmpy2

from .messages import KeyPair
from .params import Params
from .randomness import SYSTEM_RANDOM, RandomSource, exponent


def key_gen(params: Params, rng: RandomSource = SYSTEM_RANDOM) -> KeyPair:
    """sk_i at random, pk_i = g^{sk_i} (mod p in `paper`, mod n^2 in `v1`)."""
    sk = exponent(params.exponent_bound, rng)
    return KeyPair(sk, int(gmpy2.powmod_sec(params.g, sk, params.group_modulus)))
