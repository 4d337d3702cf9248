"""The two profiles as implementations of the same operations (VDAF style).

`run_round` (round.py) is written once against `Profile`; `PAPER` and `V1`
plug in the parts where the printed scheme and the corrected one differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from . import dec, enc, encoding, sysgen
from .encoding import Encoding
from .messages import Aggregate, Ciphertext, ServerKey
from .params import Params
from .randomness import RandomSource
from .validate import check_length


class Profile(Protocol):
    name: str

    def sys_gen(self, params: Params, u: int, rng: RandomSource) -> ServerKey: ...

    def encode(self, quantized: Sequence[int], weight: int, enc_: Encoding, params: Params) -> list[int]: ...

    def enc(self, params: Params, key: ServerKey, pk_s: int, segments: Sequence[int],
            rng: RandomSource) -> Ciphertext: ...

    def dec(self, params: Params, key: ServerKey, aggregate: Aggregate) -> tuple[int, ...]: ...

    def decode(self, sums: Sequence[int], enc_: Encoding, clients: int, dim: int,
               params: Params) -> tuple[list[int], int]: ...


class PaperProfile:
    """The equations as printed: u server keys, shared r_i1, no offset, Dec of Sec. 3.3."""

    name = "paper"

    def sys_gen(self, params, u, rng):
        return sysgen.sys_gen_paper(params, u, rng)

    def encode(self, quantized, weight, enc_, params):
        k = enc_.slots_per_segment(params.modulus_bits)
        return encoding.pack_segments(encoding.weigh(quantized, weight, enc_), enc_, k)

    def enc(self, params, key, pk_s, segments, rng):
        return enc.enc_paper(params, key.betas, pk_s, segments, rng)

    def dec(self, params, key, aggregate):
        return dec.dec_paper(params, key, aggregate)

    def decode(self, sums, enc_, clients, dim, params):
        values = encoding.unpack_segments(sums, enc_, dim + 1, enc_.slots_per_segment(params.modulus_bits))
        return values[:dim], values[dim]


class V1Profile:
    """Review part C: one group mod n^2, fresh randomness per segment, offset encoding."""

    name = "v1"

    def sys_gen(self, params, u, rng):
        return sysgen.sys_gen_v1(params, rng)

    def encode(self, quantized, weight, enc_, params):
        return encoding.encode_v1(quantized, weight, enc_, params.modulus_bits)

    def enc(self, params, key, pk_s, segments, rng):
        check_length(key.betas, 1, "beta")
        return enc.enc_v1(params, key.betas[0], pk_s, segments, rng)

    def dec(self, params, key, aggregate):
        return dec.dec_v1(params, key, aggregate)

    def decode(self, sums, enc_, clients, dim, params):
        return encoding.decode_v1(sums, enc_, clients, dim, params.modulus_bits)


PAPER = PaperProfile()
V1 = V1Profile()
PROFILES: dict[str, Profile] = {"paper": PAPER, "v1": V1}


def profile_of(params: Params) -> Profile:
    return PROFILES[params.profile]
