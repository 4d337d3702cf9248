"""E10 (active server and one colluding client): a client that cancels an honest client's upload.

A whole `v1` or `v2` round through `run_round`; the announced-values check of E4 passes, the round
decrypts and decodes as usual, and the sum lacks the victim. In `v2` the cancelled carrier takes the
victim's r_a out of the mask sum R as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..chelgen import check_challenge
from ..encoding import Encoding, encode_v1
from ..messages import Ciphertext, ServerKey
from ..params import Params, V1Params
from ..profiles import profile_of
from ..randomness import RandomSource, ReplayRandom
from .common import (
    RoundRecord,
    round_record,
    ColludingUpload,
    combine,
    default_encoding,
    draw_enc,
    draw_round,
    error_code,
    replay_round,
    replayed_keys,
    split_draws,
)
from .e8 import TODAY


class CancellingUpload(ColludingUpload):
    """The colluder sends E_c' = E_a^{-1} * E_c * E_0: the victim's upload inverted, its own upload,
    and its encryption E_0 of `zero_segments` (a zero update of weight 1) under the pk_S it received,
    with the profile's Enc on `zero_draws` (grouped as `draw_enc` groups them)."""

    def __init__(self, params: Params, colluder: int, colluder_sk: int, victim: int, beta: int,
                 zero_segments: list[int], zero_draws: list[list[int]]) -> None:
        super().__init__(params, colluder, colluder_sk)
        self.victim, self.beta = victim, beta
        self.zero_segments, self.zero_draws = zero_segments, zero_draws

    def forge(self, upload: Ciphertext) -> Ciphertext:
        public = ServerKey((), (self.beta,))  # the colluder knows beta, not alpha
        zero = profile_of(self.params).enc(self.params, public, self.received["pk_S"][self.colluder],
                                           self.zero_segments, ReplayRandom([r for grp in self.zero_draws for r in grp]))
        return combine(self.params, [self.received["E"][self.victim], upload, zero], [-1, 1, 1])


@dataclass(frozen=True)
class E10Demo(RoundRecord):
    """S = {a, b, c}: colluder c cancels victim a; the round's sum is b's update plus c's."""

    victim: int
    other: int
    colluder: int
    zero_segments: list[int]
    zero_masks: list[int]
    zero_r1: list[int]
    zero_r2: list[int]
    announced_check_errors: list[str | None]
    segment_sums: list[int]
    weighted_sums: list[int]
    weight_sum: int
    expected_sums: list[int]
    recovered: list[int]


def e10_cancelling_client(params: V1Params, rng: RandomSource, encoding: Encoding | None = None,
                          dim: int | None = None) -> E10Demo:
    """E10: with E_c' = E_a^{-1} E_c E_0, a's factors cancel in E_Agg, d and R alike, so T = R^{sum sk}
    still unmasks d: Dec returns M = m_b + m_c + m_0, whose offsets and weight slot look like |S| = 3
    clients (E_0 stands in for a). The server subtracts the colluder's m_c and has b's update
    exactly. In `v2` the carriers cancel the same way: R = r_b + r_c + r_0 unmasks m_b + m_c + m_0.
    Draws alpha, sk_i, the updates, Enc's draws, then the colluder's Enc draws for E_0.
    """
    encoding = default_encoding(3, encoding)
    dim = encoding.slots_per_segment(params.modulus_bits) if dim is None else dim
    alpha, sks, updates, draws = draw_round(params, encoding, 3, dim, rng)
    zero_draws = draw_enc(params, encoding.segment_count(dim, params.modulus_bits), rng)
    key, pairs = replayed_keys(params, alpha, sks)
    online, (victim, other, colluder) = [0, 1, 2], (0, 1, 2)
    zero_segments = encode_v1([0] * dim, 1, encoding, params.modulus_bits)
    network = CancellingUpload(params, colluder, sks[colluder], victim, key.betas[0], zero_segments, zero_draws)
    result = replay_round(params, encoding, key, pairs, online, updates, [1, 1, 1], draws, network=network,
                          hardening=TODAY)
    cts = [network.received["E"][k] for k in online]
    announced = [list(a.values) for a in network.received["announced g^r2"][victim]]
    zero_masks, zero_r1, zero_r2 = split_draws(zero_draws)
    return E10Demo(
        **round_record(params, encoding, alpha, sks, pairs, result.pk_s, updates, draws, cts),
        victim=victim, other=other, colluder=colluder, zero_segments=zero_segments, zero_masks=zero_masks,
        zero_r1=zero_r1, zero_r2=zero_r2,
        announced_check_errors=[error_code(lambda i=i: check_challenge(
            params, network.received["R"][i], announced, [a for a, _ in cts[i].e2])) for i in (victim, other)],
        segment_sums=list(result.segment_sums), weighted_sums=result.weighted_sums, weight_sum=result.weight_sum,
        expected_sums=result.expected_sums,
        recovered=[s - q for s, q in zip(result.weighted_sums, updates[colluder])],
    )
