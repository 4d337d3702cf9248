"""Messages of one round (Algorithm 1), named as in the paper's Table 1."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Proof:
    """A proof of knowledge of x with y = g^x, in compact form (spec 5.14): c < 2^128, z = k + c*x."""

    c: int
    z: int


@dataclass(frozen=True)
class ServerKey:
    """(alpha, beta = g^alpha). `paper`: one pair per segment (Sec. 3.4); `v1`: one pair.

    `proofs`: with the hardening, a proof of knowledge of each alpha_j, published with beta_j.
    """

    alphas: tuple[int, ...]
    betas: tuple[int, ...]
    proofs: tuple[Proof, ...] = ()


@dataclass(frozen=True)
class KeyPair:
    """(sk_i, pk_i = g^{sk_i}) of client C_i (Sec. 3.1, KeyGen).

    `proof`: with the hardening, the proof of knowledge of sk_i the client registers with pk_i.
    """

    sk: int
    pk: int
    proof: Proof | None = None


@dataclass(frozen=True)
class Statement:
    """What a proof of knowledge binds besides y = g^x (spec 5.14).

    kind "key": sk_k of client `client_id`, at registration; "server key": alpha_j, j = `index`;
    "g^r2": r_kj2 of client `client_id`, segment j = `index`, in round `round_id` over the set
    `online` (S). Fields a kind does not use stay 0 or empty.
    """

    kind: str
    client_id: int = 0
    index: int = 0
    round_id: int = 0
    online: tuple[int, ...] = ()


@dataclass(frozen=True)
class Announced:
    """What the server announces about client k of S (hardening, spec 5.13): its key pk_k, or its
    g^{r_kj2} for every segment j; with the proofs, one proof of knowledge per value."""

    client_id: int
    values: tuple[int, ...]
    proofs: tuple[Proof, ...] = ()


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
