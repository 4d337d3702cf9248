"""E4 (Sec. 3.3, active server): a crafted challenge unmasks one client.

A whole `v1` round through `run_round`, whose network hands every client R = g^{r_t2} of the
target t instead of the product over S.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..chelgen import check_challenge
from ..dec import l_function
from ..encoding import Encoding, encode_v1
from ..params import V1Params
from ..randomness import RandomSource
from .common import (
    Recorder,
    ciphertext_lists,
    default_encoding,
    draw_round,
    error_code,
    inverse,
    power,
    product,
    replay_round,
    replayed_keys,
)


@dataclass(frozen=True)
class E4Demo:
    """The server sends R_j = g^{r_tj2} of target t to everyone (Sec. 3.3, active server)."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    beta: int
    sks: list[int]
    pks: list[int]
    pk_s: int
    quantized: list[list[int]]
    segments: list[list[int]]
    r1: list[list[int]]
    r2: list[list[int]]
    e1: list[list[int]]
    e2: list[list[list[int]]]
    target: int
    crafted_challenge: list[int]
    responses: list[list[int]]
    response_products: list[int]
    g_r1: list[int]
    beta_r1: list[int]
    recovered: list[int]
    honest_challenge: list[int]
    honest_check_errors: list[str | None]
    hardened_errors: list[str | None]


class CraftedChallenge(Recorder):
    """Sends every client R_j = g^{r_tj2}, the first E_2 components of the target's upload."""

    def __init__(self, target: int) -> None:
        super().__init__()
        self.target = target
        self.honest_challenge: tuple[int, ...] = ()

    def to_client(self, client_id: int, name: str, value: Any) -> Any:
        if name == "R":
            self.honest_challenge = value
            value = tuple(a for a, _ in self.received["E"][self.target].e2)
        return self.keep(client_id, name, value)


def e4_crafted_challenge(params: V1Params, rng: RandomSource, clients: int = 3,
                         encoding: Encoding | None = None, dim: int | None = None) -> E4Demo:
    """E4: prod_k (g^{r_t2})^{sk_k} = pk_S^{r_t2} unmasks g^{r_t1}, then beta^{r_t1}, then m_t.

    Per segment j. The hardened run: `check_challenge` with the announced g^{r_kj2} refuses the
    crafted R with `ChallengeMismatchError` at every client, and accepts the honest R.
    """
    enc = default_encoding(clients, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    n, n2 = params.n, params.n2
    alpha, sks, updates, draws = draw_round(params, enc, clients, dim, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    online, target = list(range(clients)), 0
    network = CraftedChallenge(target)
    # The round ends at the server's own Dec (the crafted R leaves an L input not 1 mod n):
    # by then the server holds the responses it wanted.
    error_code(lambda: replay_round(params, enc, key, pairs, online, updates, [1] * clients, draws, network=network))
    cts = [network.received["E"][k] for k in online]
    crafted = network.received["R"][target]
    responses = [network.received["T"][k] for k in online]
    u = len(crafted)
    products = [product([t[j] for t in responses], n2) for j in range(u)]
    g_r1 = [cts[target].e2[j][1] * inverse(products[j], n2) % n2 for j in range(u)]
    beta_r1 = [power(x, alpha, n2) for x in g_r1]
    recovered = [l_function(cts[target].e1[j] * inverse(beta_r1[j], n2) % n2, n) for j in range(u)]
    announced = [[a for a, _ in c.e2] for c in cts]
    honest = network.honest_challenge
    e1, e2 = ciphertext_lists(cts)
    return E4Demo(
        n=n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, beta=key.betas[0], sks=sks,
        pks=[kp.pk for kp in pairs], pk_s=network.received["pk_S"][target], quantized=[list(q) for q in updates],
        segments=[encode_v1(q, 1, enc, params.modulus_bits) for q in updates], r1=[[a for a, _ in d] for d in draws],
        r2=[[b for _, b in d] for d in draws], e1=e1, e2=e2, target=target, crafted_challenge=list(crafted),
        responses=[list(t) for t in responses], response_products=products, g_r1=g_r1, beta_r1=beta_r1,
        recovered=recovered, honest_challenge=list(honest),
        honest_check_errors=[error_code(lambda k=k: check_challenge(params, honest, announced, announced[k]))
                             for k in online],
        hardened_errors=[error_code(lambda k=k: check_challenge(params, crafted, announced, announced[k]))
                         for k in online],
    )
