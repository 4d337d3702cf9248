"""The cryptography behind the Flower stages, as opaque lists of group elements (spec 11.3).

Per client and attempt the stages move one upload, one challenge and one response, each a list of
group elements of one width, tagged with the profile's name. What the elements mean is this
module's business:

- `v1` (review part C): the upload is one triple (E_j1, g^{r_j2}, g^{r_j1} * pk_S^{r_j2}) per
  segment j, the challenge and the response one element per segment.
- `v2` (spec chapter 10): the upload is the carrier's v1 triple (E_01, g^{r_02}, g^{r_01} *
  pk_S^{r_02}) and then C_1, ..., C_u, one element per data segment; the challenge and the
  response are one element each (the carrier's).

The hardening (spec 5.13, 5.14) adds proofs of knowledge: of alpha with beta, of sk_i with pk_i,
and of r_j2 with every element of the challenge basis (u per client in `v1`, one in `v2`).

This is the one module of `mpksa.flower` that imports the fast implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from mpksa.encoding import Encoding
from mpksa.errors import DimensionMismatchError, ParameterError, ProofError
from mpksa.fast import FastV1, FastV2, average, decode, encode, quantize
from mpksa.messages import Aggregate, Ciphertext, Proof, Statement
from mpksa.params import PROOF_CHALLENGE_BITS, V1Params, V2Params, parameter_set, proof_nonce_bits, proof_response_bound
from mpksa.randomness import SYSTEM_RANDOM, RandomSource, RecordingRandom, even_exponent, exponent
from mpksa.wire.codec import nbytes

PROFILES = ("v1", "v2")


@dataclass(frozen=True)
class Packed:
    """A client's update as the encoding sees it: quantized values, weight |D_i|, segments (Eq. (2))."""

    quantized: np.ndarray
    weight: int
    segments: list[int]


@dataclass(frozen=True)
class Encrypted:
    """Enc's upload, and the secrets the client needs after it: the exponents r_j2 of the challenge
    basis (for the hardening's proofs) and, in `v2`, the mask exponent r_i (for the MaskGuard)."""

    upload: list[int]
    proven: list[int] = field(repr=False)
    mask: int | None = field(default=None, repr=False)


class StageProfile:
    """What the stages need from a profile, on the fast implementation; every list of elements is
    opaque to the stages. Subclasses say how a list of elements is a ciphertext."""

    name = ""

    def __init__(self, params: V1Params, engine: FastV1 | FastV2, rng: RandomSource = SYSTEM_RANDOM) -> None:
        self.params = params
        self.rng = rng  # every secret this side draws: exponents, proof nonces, Enc's randomness
        self.params_name = params.name
        self.insecure = params.insecure
        self.engine = engine
        self.element_bytes = nbytes(params.n2)
        self.proof_bytes = PROOF_CHALLENGE_BITS // 8 + nbytes(proof_response_bound(params))
        self.modulus_bits = params.n.bit_length()

    # --- keys and checks of received elements -------------------------------------------------

    def new_exponent(self, even: bool = False) -> int:
        """A secret exponent (alpha, sk_i) from `rng`; `even`: the hardened KeyGen's sk_i (spec 5.14)."""
        bound = self.params.exponent_bound
        return even_exponent(bound, self.rng) if even else exponent(bound, self.rng)

    def public(self, exponent_value: int) -> int:
        """KeyGen and SysGen: g^exponent."""
        return self.engine.key_gen(exponent_value)

    def check_unit(self, x: int, name: str) -> int:
        """A received group element passes the checks of spec 5.4, or a typed error."""
        return self.engine.check_unit(x, name)

    def check_power_base(self, x: int, name: str, hardened: bool) -> int:
        """An element raised to a secret power (beta, pk_S, R_j; pk_i at the server): also not 0, 1
        or -1 mod n in `v2` (spec 10.5) and with the hardening (E8)."""
        if hardened or self.name == "v2":
            return self.engine.check_element(x, name)
        return self.engine.check_unit(x, name)

    def prove(self, statement: Statement, x: int) -> tuple[int, Proof]:
        """g^x and the proof of knowledge of x bound to `statement` (spec 5.14); draws the nonce."""
        return self.engine.prove(statement, x, exponent(1 << proof_nonce_bits(self.params), self.rng))

    def check_proof(self, statement: Statement, y: int, proof: Proof, name: str) -> None:
        """Accept the proof of knowledge of log_g y under `statement`, or `proof-invalid` naming `name`."""
        self.check_unit(y, name)
        try:
            self.engine.check_proof(statement, y, proof)
        except ProofError as error:
            raise ProofError(f"{name}: {error}") from None

    # --- start of a round: AggPKGen, the client's check of pk_S, SE and DSE ---------------------

    def aggregate_key(self, keys: Sequence[tuple[int, int]]) -> int:
        """AggPKGen over (client id, pk_i) of S."""
        return self.engine.agg_pk_gen(keys)

    def check_aggregate_key(self, pk_s: int, pk_i: int, announced: Sequence[int] | None) -> None:
        """The client's checks of pk_S (Sec. 3.2, and E5 with announced keys)."""
        self.engine.check_pk_s(pk_s, pk_i, announced)

    def seal(self, pk_i: int, alpha: int, model: bytes, round_id: int, client: int) -> bytes:
        """SE: the model for one client."""
        return self.engine.seal(pk_i, alpha, model, round_id, client)

    def unseal(self, beta: int, sk: int, sealed: bytes, round_id: int, client: int) -> bytes:
        """DSE."""
        return self.engine.unseal(beta, sk, sealed, round_id, client)

    # --- the encoding (chapter 4; v2 keeps v1's) --------------------------------------------------

    def encoding(self, settings: Encoding) -> Encoding:
        """The encoding settings (spec 4.1), checked against the modulus."""
        settings.slots_per_segment(self.modulus_bits)  # refuses a slot wider than the modulus
        return settings

    def segment_count(self, enc: Encoding, dim: int) -> int:
        """u: data segments for dim values and the weight."""
        return enc.segment_count(dim, self.modulus_bits)

    def pack(self, update: np.ndarray, weight: int, enc: Encoding) -> Packed:
        """Quantize (clipping), weigh, offset and pack an update."""
        quantized = quantize(update, enc)
        return Packed(quantized, weight, encode(quantized, weight, enc, self.modulus_bits))

    def unpack(self, sums: Sequence[int], enc: Encoding, clients: int, dim: int) -> tuple[np.ndarray, int]:
        """Algorithm 2 and the offset removal: (sum_i w_i*q_i, sum_i w_i)."""
        return decode(list(sums), enc, clients, dim, self.modulus_bits)

    def mean(self, weighted_sums: np.ndarray, weight_sum: int, enc: Encoding) -> np.ndarray:
        """Eq. (1): the weighted average, as floats."""
        return average(weighted_sums, weight_sum, enc)

    # --- the upload, the challenge and the response ----------------------------------------------

    def upload_size(self, segments: int) -> int:
        """Elements in one client's upload for u data segments."""
        raise NotImplementedError

    def challenge_size(self, segments: int) -> int:
        """Elements in the challenge, in each response and in each client's challenge basis."""
        raise NotImplementedError

    def to_ciphertext(self, upload: Sequence[int]) -> Ciphertext:
        raise NotImplementedError

    def from_ciphertext(self, c: Ciphertext) -> list[int]:
        raise NotImplementedError

    def proven_exponents(self, drawn: Sequence[int]) -> tuple[list[int], int | None]:
        """(the r_j2 of the challenge basis, the mask exponent or None) among Enc's draws, in order."""
        raise NotImplementedError

    def encrypt(self, beta: int, pk_s: int, segments: Sequence[int]) -> Encrypted:
        """Enc with fresh randomness from `rng`: the upload and the secrets the client keeps."""
        drawn = RecordingRandom(self.rng)
        upload = self.from_ciphertext(self.engine.enc(beta, pk_s, segments, drawn))
        proven, mask = self.proven_exponents([int(x) for x in drawn.take() if isinstance(x, int)])
        return Encrypted(upload, proven, mask)

    def check_upload(self, upload: Sequence[int], segments: int, name: str) -> None:
        """Every element of a received upload is well formed."""
        if len(upload) != self.upload_size(segments):
            raise DimensionMismatchError(f"{name} has {len(upload)} elements, expected {self.upload_size(segments)}")
        if not self.engine.all_units(upload):
            for j, x in enumerate(upload):
                self.engine.check_unit(x, f"{name}[{j}]")

    def challenge_basis(self, upload: Sequence[int]) -> list[int]:
        """The upload's g^{r_j2}: what ChelGen multiplies, announced and proven with the hardening."""
        return [a for a, _ in self.to_ciphertext(upload).e2]

    def challenge(self, uploads: Sequence[Sequence[int]]) -> list[int]:
        """ChelGen over the uploads of S."""
        return self.engine.chel_gen([self.to_ciphertext(u) for u in uploads])

    def check_challenge(self, challenge: Sequence[int], announced: Sequence[Sequence[int]], own: Sequence[int]) -> None:
        """E4: the challenge is the product of the announced bases, own ones included."""
        self.engine.check_challenge(challenge, announced, own)

    def respond(self, challenge: Sequence[int], sk: int) -> list[int]:
        """ResGen."""
        return self.engine.res_gen(challenge, sk)

    def aggregate(self, uploads: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> Aggregate:
        """Agg."""
        return self.engine.agg([self.to_ciphertext(u) for u in uploads], responses)

    def decrypt(self, alpha: int, uploads: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> list[int]:
        """Agg and Dec: the u data segment sums."""
        raise NotImplementedError


class V1StageProfile(StageProfile):
    """Profile `v1`; the upload is (E_j1, A_j, B_j) for each segment j."""

    name = "v1"
    per_segment = 3  # E_j1, A_j = g^{r_j2}, B_j = g^{r_j1} * pk_S^{r_j2}

    def upload_size(self, segments: int) -> int:
        return self.per_segment * segments

    def challenge_size(self, segments: int) -> int:
        return segments

    def to_ciphertext(self, upload: Sequence[int]) -> Ciphertext:
        k = self.per_segment
        return Ciphertext(tuple(upload[0::k]), tuple(zip(upload[1::k], upload[2::k])))

    def from_ciphertext(self, c: Ciphertext) -> list[int]:
        return [x for e1, (a, b) in zip(c.e1, c.e2) for x in (e1, a, b)]

    def proven_exponents(self, drawn: Sequence[int]) -> tuple[list[int], int | None]:
        return list(drawn[1::2]), None  # FastV1.enc draws r_j1, then r_j2, for each segment j

    def decrypt(self, alpha: int, uploads: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> list[int]:
        return self.engine.dec(alpha, self.aggregate(uploads, responses))


class V2StageProfile(StageProfile):
    """Profile `v2`; the upload is the carrier's (E_01, A_0, B_0), then C_1, ..., C_u."""

    name = "v2"
    carrier = 3  # E_01, A_0 = g^{r_02}, B_0 = g^{r_01} * pk_S^{r_02}

    def upload_size(self, segments: int) -> int:
        return self.carrier + segments

    def challenge_size(self, segments: int) -> int:
        return 1

    def to_ciphertext(self, upload: Sequence[int]) -> Ciphertext:
        return Ciphertext((upload[0], *upload[self.carrier:]), ((upload[1], upload[2]),))

    def from_ciphertext(self, c: Ciphertext) -> list[int]:
        ((a, b),) = c.e2
        return [c.e1[0], a, b, *c.e1[1:]]

    def proven_exponents(self, drawn: Sequence[int]) -> tuple[list[int], int | None]:
        return [drawn[2]], drawn[0]  # FastV2.enc draws r_i, then the carrier's r_01 and r_02

    def decrypt(self, alpha: int, uploads: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> list[int]:
        return self.engine.dec(alpha, self.aggregate(uploads, responses), len(uploads))


@cache
def stage_profile(profile: str, params_name: str, workers: int | None = 1,
                  rng: RandomSource = SYSTEM_RANDOM) -> StageProfile:
    """The profile `profile` over the named parameter set; a typed error for anything else.

    `workers`: processes for the exponentiations (None: one per core; clients use 1). `rng`: the
    source of every secret drawn (the CSPRNG; an explicit source replays a run)."""
    if profile not in PROFILES:
        raise ParameterError(f"profile {profile!r} is not available on Flower: use one of {', '.join(PROFILES)}")
    params = parameter_set(params_name)
    if params.profile != profile:
        raise ParameterError(f"parameter set {params_name!r} is of profile {params.profile!r}, not {profile!r}")
    if isinstance(params, V2Params):
        return V2StageProfile(params, FastV2(params, workers=workers), rng)
    assert isinstance(params, V1Params)
    return V1StageProfile(params, FastV1(params, workers=workers), rng)
