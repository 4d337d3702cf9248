"""The cryptography behind the Flower stages, as opaque lists of group elements (spec 11.3).

Per client and attempt the stages move one upload, one challenge and one response, each a list of
group elements of one width, tagged with the profile's name. What the elements mean is this
module's business:

- `v1` (review part C): the upload is one triple (E_j1, g^{r_j2}, g^{r_j1} * pk_S^{r_j2}) per
  segment, the challenge and the response one element per segment.
- `v2` (compact profile, one element per segment plus a `v1` carrier segment) and the hardening
  of issue 10 (proofs of knowledge) plug in as further `StageProfile`s with other list lengths;
  the stage machinery in `mod` and `workflow` does not change.

This is the one module of `mpksa.flower` that imports the fast implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from mpksa.encoding import Encoding
from mpksa.errors import DimensionMismatchError, ParameterError
from mpksa.fast import FastV1, average, decode, encode, quantize
from mpksa.messages import Ciphertext
from mpksa.params import V1Params, parameter_set
from mpksa.randomness import SYSTEM_RANDOM, exponent


@dataclass(frozen=True)
class Packed:
    """A client's update as the encoding sees it: quantized values, weight |D_i|, segments (Eq. (2))."""

    quantized: np.ndarray
    weight: int
    segments: list[int]


class StageProfile(Protocol):
    """What the stages need from a profile; every list of elements is opaque to them."""

    name: str
    params_name: str
    insecure: bool
    element_bytes: int
    modulus_bits: int

    def new_exponent(self) -> int:
        """A secret exponent (sk_i, alpha) from the CSPRNG."""

    def public(self, exponent: int) -> int:
        """KeyGen and SysGen: g^exponent."""

    def check_element(self, x: int, name: str) -> int:
        """A received group element passes the checks of spec 5.4, or a typed error."""

    def aggregate_key(self, keys: Sequence[tuple[int, int]]) -> int:
        """AggPKGen over (client id, pk_i) of S."""

    def check_aggregate_key(self, pk_s: int, pk_i: int, announced: Sequence[int] | None) -> None:
        """The client's checks of pk_S (Sec. 3.2, and E5 with announced keys)."""

    def seal(self, pk_i: int, alpha: int, model: bytes, round_id: int, client: int) -> bytes:
        """SE: the model for one client."""

    def unseal(self, beta: int, sk: int, sealed: bytes, round_id: int, client: int) -> bytes:
        """DSE."""

    def encoding(self, settings: Encoding) -> Encoding:
        """The encoding settings (spec 4.1), checked against the modulus."""

    def segment_count(self, enc: Encoding, dim: int) -> int:
        """u: data segments for dim values and the weight."""

    def pack(self, update: np.ndarray, weight: int, enc: Encoding) -> Packed:
        """Quantize (clipping), weigh, offset and pack an update."""

    def unpack(self, sums: Sequence[int], enc: Encoding, clients: int, dim: int) -> tuple[np.ndarray, int]:
        """Algorithm 2 and the offset removal: (sum_i w_i*q_i, sum_i w_i)."""

    def mean(self, weighted_sums: np.ndarray, weight_sum: int, enc: Encoding) -> np.ndarray:
        """Eq. (1): the weighted average, as floats."""

    def upload_size(self, segments: int) -> int:
        """Elements in one client's upload."""

    def challenge_size(self, segments: int) -> int:
        """Elements in the challenge, and in each response."""

    def encrypt(self, beta: int, pk_s: int, segments: Sequence[int]) -> list[int]:
        """Enc: the upload."""

    def check_upload(self, upload: Sequence[int], segments: int, name: str) -> None:
        """Every element of a received upload is well formed."""

    def challenge_basis(self, upload: Sequence[int]) -> list[int]:
        """The upload's elements that ChelGen multiplies (announced with the E4 hardening)."""

    def challenge(self, uploads: Sequence[Sequence[int]]) -> list[int]:
        """ChelGen over the uploads of S."""

    def check_challenge(self, challenge: Sequence[int], announced: Sequence[Sequence[int]], own: Sequence[int]) -> None:
        """E4 hardening: the challenge is the product of the announced bases, own ones included."""

    def respond(self, challenge: Sequence[int], sk: int) -> list[int]:
        """ResGen."""

    def decrypt(self, alpha: int, uploads: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> list[int]:
        """Agg and Dec: the segment sums."""


class V1StageProfile:
    """Profile `v1` on the fast implementation; the upload is (E_j1, A_j, B_j) for each segment j."""

    name = "v1"
    per_segment = 3  # E_j1, A_j = g^{r_j2}, B_j = g^{r_j1} * pk_S^{r_j2}

    def __init__(self, params: V1Params, workers: int | None = 1) -> None:
        self.params_name = params.name
        self.insecure = params.insecure
        self.params = params
        self.engine = FastV1(params, workers=workers)
        self.element_bytes = (params.n2.bit_length() + 7) // 8
        self.modulus_bits = params.n.bit_length()

    def new_exponent(self) -> int:
        return exponent(self.params.exponent_bound, SYSTEM_RANDOM)

    def public(self, exponent: int) -> int:
        return self.engine.key_gen(exponent)

    def check_element(self, x: int, name: str) -> int:
        return self.engine.check_unit(x, name)

    def aggregate_key(self, keys: Sequence[tuple[int, int]]) -> int:
        return self.engine.agg_pk_gen(keys)

    def check_aggregate_key(self, pk_s: int, pk_i: int, announced: Sequence[int] | None) -> None:
        self.engine.check_pk_s(pk_s, pk_i, announced)

    def seal(self, pk_i: int, alpha: int, model: bytes, round_id: int, client: int) -> bytes:
        return self.engine.seal(pk_i, alpha, model, round_id, client)

    def unseal(self, beta: int, sk: int, sealed: bytes, round_id: int, client: int) -> bytes:
        return self.engine.unseal(beta, sk, sealed, round_id, client)

    def encoding(self, settings: Encoding) -> Encoding:
        settings.slots_per_segment(self.modulus_bits)  # refuses a slot wider than the modulus
        return settings

    def segment_count(self, enc: Encoding, dim: int) -> int:
        return -(-(dim + 1) // enc.slots_per_segment(self.modulus_bits))

    def pack(self, update: np.ndarray, weight: int, enc: Encoding) -> Packed:
        quantized = quantize(update, enc)
        return Packed(quantized, weight, encode(quantized, weight, enc, self.modulus_bits))

    def unpack(self, sums: Sequence[int], enc: Encoding, clients: int, dim: int) -> tuple[np.ndarray, int]:
        return decode(list(sums), enc, clients, dim, self.modulus_bits)

    def mean(self, weighted_sums: np.ndarray, weight_sum: int, enc: Encoding) -> np.ndarray:
        return average(weighted_sums, weight_sum, enc)

    def upload_size(self, segments: int) -> int:
        return self.per_segment * segments

    def challenge_size(self, segments: int) -> int:
        return segments

    def encrypt(self, beta: int, pk_s: int, segments: Sequence[int]) -> list[int]:
        c = self.engine.enc(beta, pk_s, segments)
        return [x for e1, (a, b) in zip(c.e1, c.e2) for x in (e1, a, b)]

    def check_upload(self, upload: Sequence[int], segments: int, name: str) -> None:
        if len(upload) != self.upload_size(segments):
            raise DimensionMismatchError(f"{name} has {len(upload)} elements, expected {self.upload_size(segments)}")
        if not self.engine.all_units(upload):
            for j, x in enumerate(upload):
                self.engine.check_unit(x, f"{name}[{j}]")

    def challenge_basis(self, upload: Sequence[int]) -> list[int]:
        return list(upload[1::self.per_segment])

    def challenge(self, uploads: Sequence[Sequence[int]]) -> list[int]:
        return self.engine.chel_gen([self._ciphertext(u) for u in uploads])

    def check_challenge(self, challenge: Sequence[int], announced: Sequence[Sequence[int]], own: Sequence[int]) -> None:
        self.engine.check_challenge(challenge, announced, own)

    def respond(self, challenge: Sequence[int], sk: int) -> list[int]:
        return self.engine.res_gen(challenge, sk)

    def decrypt(self, alpha: int, uploads: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> list[int]:
        aggregate = self.engine.agg([self._ciphertext(u) for u in uploads], responses)
        return self.engine.dec(alpha, aggregate)

    def _ciphertext(self, upload: Sequence[int]) -> Ciphertext:
        k = self.per_segment
        return Ciphertext(tuple(upload[0::k]), tuple(zip(upload[1::k], upload[2::k])))


@cache
def stage_profile(profile: str, params_name: str, workers: int | None = 1) -> StageProfile:
    """The profile `profile` over the named parameter set; a typed error for anything else.

    `workers`: processes for the exponentiations (None: one per core; clients use 1)."""
    if profile != "v1":
        raise ParameterError(f"profile {profile!r} is not available on Flower yet: use 'v1'")
    params = parameter_set(params_name)
    if not isinstance(params, V1Params):
        raise ParameterError(f"parameter set {params_name!r} is of profile {params.profile!r}, not 'v1'")
    return V1StageProfile(params, workers)
