"""E9 (active server and one colluding client or Sybil): rogue announced values and rogue keys.

Both pass the announced-values and announced-keys checks of E4 and E5 (options `announce_challenge`
and `announce_keys`): the checks recompute a product, and the colluder chooses its factor after
seeing all the others. Whole `v1` or `v2` rounds through `run_round`; in `v2` the rogue value
unmasks the target's carrier, hence its mask exponent r_a, hence all its segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..aggpkgen import check_pk_s
from ..chelgen import check_challenge
from ..encoding import Encoding
from ..messages import KeyPair
from ..params import Params, V1Params
from ..randomness import RandomSource, exponent
from .common import (
    RoundRecord,
    round_record,
    Recorder,
    default_encoding,
    draw_round,
    error_code,
    inverse,
    open_upload,
    power,
    product,
    replay_round,
    replayed_keys,
)
from .e8 import TODAY, RogueAnnouncedValue


@dataclass(frozen=True)
class E9Demo(RoundRecord):
    """The colluder's announced value makes R_j = A_aj * g^{y_j}: the responses unmask target a
    (`v2`: its carrier, whose plaintext is r_a, in `recovered_masks`)."""

    target: int
    colluder: int
    y: list[int]
    rogue_values: list[int]
    challenge: list[int]
    announced_check_errors: list[str | None]
    responses: list[list[int]]
    pk_s_r2: list[int]
    g_r1: list[int]
    recovered_masks: list[int]
    recovered: list[int]
    round_error: str | None


def e9_rogue_announced_value(params: V1Params, rng: RandomSource, clients: int = 3,
                             encoding: Encoding | None = None, dim: int | None = None) -> E9Demo:
    """E9: colluder c announces A_cj = g^{y_j} * prod_{k != a, c} A_kj^{-1}. The product of the
    announced values is R_j = A_aj * g^{y_j}, which every client's check accepts; the responses
    multiply to R_j^{sum sk} = pk_S^{r_aj2} * pk_S^{y_j}, so pk_S^{r_aj2} = T_j * pk_S^{-y_j} unmasks
    g^{r_aj1} and every segment of target a (client 0; the colluder is the last client). In `v2`
    j is the carrier alone: it opens to r_a, and r_a opens every C_aj (`open_upload`).
    Draws alpha, sk_i, the updates, Enc's draws, then y_j per E_2 pair (u in `v1`, 1 in `v2`).
    """
    encoding = default_encoding(clients, encoding)
    dim = encoding.slots_per_segment(params.modulus_bits) if dim is None else dim
    n2, g = params.n2, params.g
    alpha, sks, updates, draws = draw_round(params, encoding, clients, dim, rng)
    u = len(draws[0])
    y = [exponent(params.exponent_bound, rng) for _ in range(u)]
    key, pairs = replayed_keys(params, alpha, sks)
    online, target, colluder = list(range(clients)), 0, clients - 1
    network = RogueAnnouncedValue(params, colluder, sks[colluder], [power(g, e, n2) for e in y], target)
    error = error_code(lambda: replay_round(params, encoding, key, pairs, online, updates, [1] * clients, draws,
                                            network=network, hardening=TODAY))
    cts = [network.received["E"][k] for k in online]
    pk_s = network.received["pk_S"][target]
    challenge = network.received["R"][target]
    announced = [list(a.values) for a in network.received["announced g^r2"][target]]
    responses = [network.received["T"][k] for k in online]
    pk_s_r2 = [product([t[j] for t in responses], n2) * power(pk_s, -y[j], n2) % n2 for j in range(u)]
    g_r1 = [cts[target].e2[j][1] * inverse(pk_s_r2[j], n2) % n2 for j in range(u)]
    recovered, recovered_masks = open_upload(params, alpha, cts[target], g_r1)
    return E9Demo(
        **round_record(params, encoding, alpha, sks, pairs, pk_s, updates, draws, cts), target=target, colluder=colluder, y=y, rogue_values=[a for a, _ in cts[colluder].e2],
        challenge=list(challenge),
        announced_check_errors=[error_code(lambda i=i: check_challenge(
            params, network.received["R"][i], announced, [a for a, _ in cts[i].e2])) for i in online[:-1]],
        responses=[list(t) for t in responses], pk_s_r2=pk_s_r2, g_r1=g_r1, recovered_masks=recovered_masks,
        recovered=recovered, round_error=error,
    )


class RogueKeyResponse(Recorder):
    """The colluder with the rogue key pk_c (last of S) answers T_c = R_j^x * prod_{k != c} T_kj^{-1}:
    the responses then multiply to R_j^x = pk_S^{R_2}, and the round decrypts as usual."""

    def __init__(self, params: Params, colluder: int, x: int) -> None:
        super().__init__()
        self.params, self.colluder, self.x = params, colluder, x

    def to_server(self, client_id: int, name: str, value: Any) -> Any:
        if client_id == self.colluder and name == "T":
            n2 = self.params.group_modulus
            others = [t for k, t in self.received["T"].items() if k != client_id]
            value = tuple(power(r, self.x, n2) * inverse(product([t[j] for t in others], n2), n2) % n2
                          for j, r in enumerate(self.received["R"][client_id]))
        return self.keep(client_id, name, value)


@dataclass(frozen=True)
class E9KeyDemo(RoundRecord):
    """The colluder registers pk_c = g^x * prod_{k != c} pk_k^{-1}: pk_S = g^x, known to the server.
    `sks` holds the honest clients' keys only: the colluder has none."""

    x: int
    rogue_pk: int
    announced_keys_errors: list[str | None]
    recovered_masks: list[int]
    recovered: list[list[int]]
    weighted_sums: list[int]
    weight_sum: int
    expected_sums: list[int]
    correct: bool


def e9_rogue_key(params: V1Params, rng: RandomSource, clients: int = 3, encoding: Encoding | None = None,
                 dim: int | None = None) -> E9KeyDemo:
    """E9 on long-term keys: the colluder (the last client, no sk of its own) registers
    pk_c = g^x * prod_{k != c} pk_k^{-1}. The announced keys multiply to pk_S = g^x, and each client's
    check of option `announce_keys` passes. The server unmasks every upload alone:
    g^{r_ij1} = E_ij2[1] * (g^{r_ij2})^{-x} (`v2`: of the carrier, which opens r_i and every C_ij).
    The colluder answers so that the round decrypts the correct sum: nothing looks wrong. Draws
    alpha, sk_i (the colluder's is never used), the updates, Enc's draws, then x.
    """
    encoding = default_encoding(clients, encoding)
    dim = encoding.slots_per_segment(params.modulus_bits) if dim is None else dim
    n2, g = params.n2, params.g
    alpha, sks, updates, draws = draw_round(params, encoding, clients, dim, rng)
    x = exponent(params.exponent_bound, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    online, colluder = list(range(clients)), clients - 1
    honest = online[:-1]
    rogue = power(g, x, n2) * inverse(product([pairs[k].pk for k in honest], n2), n2) % n2
    pairs[colluder] = KeyPair(1, rogue)  # the colluder knows no discrete log of its key
    network = RogueKeyResponse(params, colluder, x)
    result = replay_round(params, encoding, key, pairs, online, updates, [1] * clients, draws, network=network,
                          hardening=TODAY)
    pks = [p.pk for p in pairs]
    cts = [network.received["E"][k] for k in online]
    opened = [open_upload(params, alpha, c, [b * power(a, -x, n2) % n2 for a, b in c.e2]) for c in cts[:-1]]
    return E9KeyDemo(
        **round_record(params, encoding, alpha, sks[:-1], pairs, result.pk_s, updates, draws, cts), x=x,
        rogue_pk=rogue,
        announced_keys_errors=[error_code(lambda i=i: check_pk_s(params, result.pk_s, pks[i], pks)) for i in online],
        recovered_masks=[r for _, masks in opened for r in masks], recovered=[segments for segments, _ in opened],
        weighted_sums=result.weighted_sums, weight_sum=result.weight_sum,
        expected_sums=result.expected_sums, correct=result.correct,
    )
