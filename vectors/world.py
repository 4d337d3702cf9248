"""Seeded participants and messages from which the vector families are cut.

Everything here is computed with the reference functions from a
`SeededRandom` (deterministic, for reproducible vectors only), and every value
drawn is kept so that the tests can carry it as explicit randomness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import gmpy2

from mpksa import agg as agg_mod
from mpksa import aggpkgen, chelgen, resgen
from mpksa.encoding import Encoding
from mpksa.messages import Aggregate, Ciphertext, KeyPair, ServerKey
from mpksa.wire.codec import Codec, Json, nbytes
from mpksa.params import Params
from mpksa.profiles import profile_of
from mpksa.enc import enc_v1
from mpksa.randomness import RandomSource, RecordingRandom, ReplayRandom, SeededRandom, exponent



def seed_text(*labels: str) -> str:
    """The seed of the stream named by its labels (ASCII)."""
    return "MPKSA vectors|" + "|".join(labels)


def seeded(*labels: str) -> SeededRandom:
    """A deterministic stream named by its labels: one per test or per round, so tests stay independent."""
    return SeededRandom(seed_text(*labels).encode("ascii"))


def segment_count(params: Params, encoding: Encoding, dim: int) -> int:
    """u = ceil((dim + 1) / k): the dim values and the weight slot."""
    return -(-(dim + 1) // encoding.slots_per_segment(params.modulus_bits))


def server_key(params: Params, encoding: Encoding, dim: int, rng: RandomSource) -> ServerKey:
    """SysGen: u keys in `paper` (Sec. 3.4), one in `v1` (review C.3)."""
    return profile_of(params).sys_gen(params, segment_count(params, encoding, dim), rng)


def key_pair(params: Params, rng: RandomSource) -> KeyPair:
    sk = exponent(params.exponent_bound, rng)
    return KeyPair(sk, int(gmpy2.powmod(params.g, sk, params.group_modulus)))


def product(params: Params, values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out = out * v % params.group_modulus
    return out


def gradient(rng: RandomSource, dim: int, signed: bool = True) -> list[float]:
    """dim values in [-1, 1] (or [0, 1]) with at most 20 significant bits: exact in JSON and in binary floats."""
    low = -(2**19) if signed else 0
    return [(rng.randrange(0, 2**19 - low + 1) + low) / 2**19 for _ in range(dim)]


def quantized_values(rng: RandomSource, dim: int, q_max: int, signed: bool = True) -> list[int]:
    return [rng.randrange(-q_max if signed else 0, q_max + 1) for _ in range(dim)]


@dataclass(frozen=True)
class EncDraws:
    """The randomness one Enc drew: r1, r2 per segment (`paper`: one pair; `v2`: the carrier's pair),
    and in `v2` first the mask exponent r."""

    r1: list[int]
    r2: list[int]
    mask: int | None = None

    def inputs(self, codec: Codec) -> Json:
        """The explicit-randomness inputs of an Enc request: r1, r2, and r in `v2`."""
        out: Json = {"r1": [codec.exponent(r) for r in self.r1], "r2": [codec.exponent(r) for r in self.r2]}
        if self.mask is not None:
            out["r"] = codec.mask(self.mask)
        return out


@dataclass
class Upload:
    """One client's contribution: its keys, quantized values, packed segments, randomness and ciphertext."""

    client_id: int
    keys: KeyPair
    quantized: list[int]
    weight: int
    segments: list[int]
    draws: EncDraws
    ciphertext: Ciphertext


@dataclass
class MiniRound:
    """SysGen, KeyGen, Encode and Enc for a few clients, then ChelGen, ResGen, Agg (Algorithm 1)."""

    params: Params
    encoding: Encoding
    server: ServerKey
    uploads: list[Upload]
    pk_s: int
    challenge: tuple[int, ...]
    responses: list[tuple[int, ...]]
    aggregate: Aggregate
    dim: int

    @property
    def codec(self) -> Codec:
        return Codec(self.params)

    def plaintext_segment_sums(self) -> list[int]:
        """sum_i m_ij mod the message modulus: what a correct Dec returns."""
        modulus = self.params.message_modulus
        return [sum(u.segments[j] for u in self.uploads) % modulus for j in range(len(self.uploads[0].segments))]

    def r1_sum(self) -> int:
        """R = sum_i r_i1 over the integers (paper: one r_i1 per client); see E1."""
        return sum(u.draws.r1[0] for u in self.uploads)

    def dec_inputs(self, alphas: Sequence[int] | None = None) -> Json:
        """Dec's inputs; `v2` also takes |S| (spec 10.6)."""
        c = self.codec
        out = {"alphas": [c.exponent(a) for a in (alphas or self.server.alphas)],
               "e_agg": [c.e1(x) for x in self.aggregate.e_agg], "d": [c.element(x) for x in self.aggregate.d],
               "t": [c.element(x) for x in self.aggregate.t]}
        if self.params.profile == "v2":
            out["clients"] = len(self.uploads)
        return out

    def with_carriers(self, plaintexts: Sequence[int]) -> MiniRound:
        """`v2`: the same round with each client's carrier re-encrypted to hold `plaintexts[i]` instead of its
        r_i (same r1, r2), then ChelGen, ResGen and Agg again: what a misbehaving client would make of it."""
        uploads = []
        for u, m in zip(self.uploads, plaintexts):
            draws = [r for pair in zip(u.draws.r1, u.draws.r2) for r in pair]
            carrier = enc_v1(self.params, self.server.betas[0], self.pk_s, [m], ReplayRandom(draws))
            uploads.append(replace(u, ciphertext=Ciphertext((carrier.e1[0], *u.ciphertext.e1[1:]), carrier.e2)))
        challenge = chelgen.chel_gen(self.params, [u.ciphertext for u in uploads])
        responses = [resgen.res_gen(self.params, challenge, u.keys.sk) for u in uploads]
        aggregate = agg_mod.agg(self.params, [u.ciphertext for u in uploads], responses)
        return replace(self, uploads=uploads, challenge=challenge, responses=responses, aggregate=aggregate)

    def ciphertexts_json(self) -> list[Json]:
        return [self.codec.ciphertext(u.ciphertext) for u in self.uploads]

    def responses_json(self) -> list[list[str]]:
        return [[self.codec.element(x) for x in r] for r in self.responses]


def encrypt(params: Params, server: ServerKey, pk_s: int, segments: Sequence[int],
            rng: RandomSource) -> tuple[Ciphertext, EncDraws]:
    """Enc with recorded randomness: the ciphertext and what it drew (in `v2` the mask r first)."""
    recorder = RecordingRandom(rng)
    ciphertext = profile_of(params).enc(params, server, pk_s, list(segments), recorder)
    drawn = [int(x) for x in recorder.take()]
    mask = drawn.pop(0) if params.profile == "v2" else None
    return ciphertext, EncDraws(drawn[0::2], drawn[1::2], mask)


def mini_round(params: Params, encoding: Encoding, clients: int, dim: int, rng: RandomSource,
               quantized: Sequence[Sequence[int]] | None = None, weights: Sequence[int] | None = None,
               signed: bool = True) -> MiniRound:
    """`signed` False draws values in [0, q_max] (the paper's packing only recovers those: E6)."""
    profile = profile_of(params)
    server = server_key(params, encoding, dim, rng)
    keys = [key_pair(params, rng) for _ in range(clients)]
    pk_s = aggpkgen.agg_pk_gen(params, [(i + 1, k.pk) for i, k in enumerate(keys)])
    uploads = []
    for i, k in enumerate(keys):
        q = list(quantized[i]) if quantized else quantized_values(rng, dim, encoding.q_max, signed)
        w = weights[i] if weights else 1
        segments = profile.encode(q, w, encoding, params)
        ciphertext, draws = encrypt(params, server, pk_s, segments, rng)
        uploads.append(Upload(i + 1, k, q, w, segments, draws, ciphertext))
    challenge = chelgen.chel_gen(params, [u.ciphertext for u in uploads])
    responses = [resgen.res_gen(params, challenge, u.keys.sk) for u in uploads]
    aggregate = agg_mod.agg(params, [u.ciphertext for u in uploads], responses)
    return MiniRound(params, encoding, server, uploads, pk_s, challenge, responses, aggregate, dim)


# -- bad values ---------------------------------------------------------------------------------


def all_ones_hex(modulus: int) -> str:
    """The largest value the fixed length can hold: at or above the modulus."""
    return "ff" * nbytes(modulus)


def non_unit_element(params: Params) -> int | None:
    """A value in (0, group modulus) sharing a factor with n; none exists mod a prime p."""
    if params.profile == "paper":
        return None
    factors = getattr(params, "factors", None)
    return factors[0] if factors else params.message_modulus


def non_unit_e1(params: Params) -> int:
    """A first-component value sharing a factor with n (v1) or p (paper: p itself, mod p^2)."""
    element = non_unit_element(params)
    return element if element is not None else params.message_modulus


def uppercase(text: str) -> str:
    """The same hex in upper case (the format demands lower case); forced to differ."""
    upper = text.upper()
    return upper if upper != text else "A" + text[1:]
