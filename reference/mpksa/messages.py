"""Messages of one round (Algorithm 1), named as in the paper's Table 1."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerKey:
    """(alpha, beta = g^alpha). `paper`: one pair per segment (Sec. 3.4); `v1`: one pair."""

    alphas: tuple[int, ...]
    betas: tuple[int, ...]


@dataclass(frozen=True)
class KeyPair:
    """(sk_i, pk_i = g^{sk_i}) of client C_i (Sec. 3.1, KeyGen)."""

    sk: int
    pk: int


@dataclass(frozen=True)
class Ciphertext:
    """E(hat nabla_i) = (E_i1, E_i2) (Sec. 3.2 and 3.4).

    e1: E_ij1 for each segment j.
    e2: (g^{r2}, g^{r1} * pk_S^{r2}): one pair in `paper`, one per segment in `v1`.
    """

    e1: tuple[int, ...]
    e2: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Aggregate:
    """(E_Agg, d, T) of Agg (Sec. 3.3), one entry per segment (one d and T in `paper`)."""

    e_agg: tuple[int, ...]
    d: tuple[int, ...]
    t: tuple[int, ...]
