"""The profiles as implementations of the same operations (VDAF style).

`run_round` (round.py) is written once against `Profile`; `PAPER`, `V1` and `V2` plug in the
parts where the printed scheme, the corrected one and the compact one differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .dec import dec_paper, dec_v1, dec_v2
from .enc import enc_paper, enc_v1, enc_v2
from .encoding import Encoding, decode_v1, encode_v1, pack_segments, unpack_segments, weigh
from .messages import Aggregate, Ciphertext, ServerKey
from .params import PaperParams, Params, V1Params, V2Params
from .randomness import RandomSource
from .sysgen import sys_gen_paper, sys_gen_v1
from .validate import check_length


class Profile(Protocol):
    """The operations of Algorithm 1 that differ between profiles."""

    name: str

    def sys_gen(self, params: Params, u: int, rng: RandomSource) -> ServerKey:
        """The server's key for u segments."""
        ...

    def encode(self, quantized: Sequence[int], weight: int, encoding: Encoding, params: Params) -> list[int]:
        """A client's quantized update and weight as the messages m_ij to encrypt."""
        ...

    def enc(self, params: Params, key: ServerKey, pk_s: int, segments: Sequence[int],
            rng: RandomSource) -> Ciphertext:
        """Enc of one client's messages under beta and pk_S."""
        ...

    def dec(self, params: Params, key: ServerKey, aggregate: Aggregate, clients: int) -> tuple[int, ...]:
        """The segment sums from the aggregate of `clients` = |S| clients (`v2` checks its mask sum against |S|)."""
        ...

    def announced_exponents(self, drawn: Sequence[int]) -> list[int]:
        """The exponents r_kj2 of a client's announced g^{r_kj2}, among the values its Enc drew (in order)."""
        ...

    def decode(self, sums: Sequence[int], encoding: Encoding, clients: int, dim: int,
               params: Params) -> tuple[list[int], int]:
        """(sum_i w_i*q_i per coordinate, sum_i w_i) from the segment sums."""
        ...


class PaperProfile:
    """The equations as printed: u server keys, shared r_i1, no offset, Dec of Sec. 3.3."""

    name = "paper"

    def sys_gen(self, params: PaperParams, u: int, rng: RandomSource) -> ServerKey:
        return sys_gen_paper(params, u, rng)

    def encode(self, quantized: Sequence[int], weight: int, encoding: Encoding, params: PaperParams) -> list[int]:
        k = encoding.slots_per_segment(params.modulus_bits)
        return pack_segments(weigh(quantized, weight, encoding), encoding, k)

    def enc(self, params: PaperParams, key: ServerKey, pk_s: int, segments: Sequence[int],
            rng: RandomSource) -> Ciphertext:
        return enc_paper(params, key.betas, pk_s, segments, rng)

    def dec(self, params: PaperParams, key: ServerKey, aggregate: Aggregate, clients: int) -> tuple[int, ...]:
        return dec_paper(params, key, aggregate)

    def announced_exponents(self, drawn: Sequence[int]) -> list[int]:
        return [drawn[1]]  # enc_paper draws r_i1, then r_i2

    def decode(self, sums: Sequence[int], encoding: Encoding, clients: int, dim: int,
               params: PaperParams) -> tuple[list[int], int]:
        values = unpack_segments(sums, encoding, dim + 1, encoding.slots_per_segment(params.modulus_bits))
        return values[:dim], values[dim]


class V1Profile:
    """Review part C: one group mod n^2, fresh randomness per segment, offset encoding."""

    name = "v1"

    def sys_gen(self, params: V1Params, u: int, rng: RandomSource) -> ServerKey:
        return sys_gen_v1(params, rng)

    def encode(self, quantized: Sequence[int], weight: int, encoding: Encoding, params: V1Params) -> list[int]:
        return encode_v1(quantized, weight, encoding, params.modulus_bits)

    def enc(self, params: V1Params, key: ServerKey, pk_s: int, segments: Sequence[int],
            rng: RandomSource) -> Ciphertext:
        check_length(key.betas, 1, "beta")
        return enc_v1(params, key.betas[0], pk_s, segments, rng)

    def dec(self, params: V1Params, key: ServerKey, aggregate: Aggregate, clients: int) -> tuple[int, ...]:
        return dec_v1(params, key, aggregate)

    def announced_exponents(self, drawn: Sequence[int]) -> list[int]:
        return list(drawn[1::2])  # enc_v1 draws r_ij1, then r_ij2, for each segment j

    def decode(self, sums: Sequence[int], encoding: Encoding, clients: int, dim: int,
               params: V1Params) -> tuple[list[int], int]:
        return decode_v1(sums, encoding, clients, dim, params.modulus_bits)


class V2Profile:
    """Spec chapter 10: one mask exponent r_i per client and round under hashed bases h_j, and one
    v1 segment, the carrier, that delivers sum_i r_i to the server; v1's encoding."""

    name = "v2"

    def sys_gen(self, params: V2Params, u: int, rng: RandomSource) -> ServerKey:
        return sys_gen_v1(params, rng)

    def encode(self, quantized: Sequence[int], weight: int, encoding: Encoding, params: V2Params) -> list[int]:
        return encode_v1(quantized, weight, encoding, params.modulus_bits)

    def enc(self, params: V2Params, key: ServerKey, pk_s: int, segments: Sequence[int],
            rng: RandomSource) -> Ciphertext:
        check_length(key.betas, 1, "beta")
        return enc_v2(params, key.betas[0], pk_s, segments, rng)

    def dec(self, params: V2Params, key: ServerKey, aggregate: Aggregate, clients: int) -> tuple[int, ...]:
        return dec_v2(params, key, aggregate, clients)

    def announced_exponents(self, drawn: Sequence[int]) -> list[int]:
        return [drawn[2]]  # enc_v2 draws r_i, then the carrier's r_i01 and r_i02

    def decode(self, sums: Sequence[int], encoding: Encoding, clients: int, dim: int,
               params: V2Params) -> tuple[list[int], int]:
        return decode_v1(sums, encoding, clients, dim, params.modulus_bits)


PAPER = PaperProfile()
V1 = V1Profile()
V2 = V2Profile()
PROFILES: dict[str, Profile] = {"paper": PAPER, "v1": V1, "v2": V2}


def profile_of(params: Params) -> Profile:
    return PROFILES[params.profile]
