"""E8 (active server): elements outside the group of g, on `v1` and `v2`.

A junk challenge R = (1 + n) * g^y makes every answering client reveal sk_i, R = -g^y its parity;
with one colluding client the junk R even passes the announced-values check of E4. `v2` refuses the
degenerate R = 1 + n and R = -1 always, not these. A server key beta in <1 + n> exposes the high
bits of every `v1` segment; `v2` refuses it always, and would have given away every mask exponent
r_i. beta = -g^alpha turns DSE into a parity oracle on both. Whole rounds through `run_round`; the
DSE oracle, the forged proof and what `v2`'s check of beta prevents are single operations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gmpy2

from ..chelgen import check_challenge
from ..dec import l_function
from ..enc import enc_v1, enc_v2
from ..encoding import Encoding
from ..errors import ParameterError
from ..keygen import key_gen
from ..messages import Ciphertext, KeyPair, Proof, ServerKey, Statement
from ..params import Params, V1Params, V2Params
from ..proofs import commit, proof_challenge, statement_context, verify
from ..randomness import RandomSource, ReplayRandom, exponent
from ..resgen import res_gen
from ..round import Hardening
from ..se import dse, se
from ..validate import check_nondegenerate
from .common import (
    RoundRecord,
    round_record,
    ColludingUpload,
    Recorder,
    default_encoding,
    draw_enc,
    draw_round,
    error_code,
    inverse,
    power,
    product,
    replay_round,
    replayed_keys,
    unmask_segments,
)

TODAY = Hardening(announce_keys=True, announce_challenge=True)
"""The hardening of E4 and E5 alone: announced keys and announced g^{r_kj2}, no proofs."""


class JunkChallenge(Recorder):
    """Sends every client the challenge `junk` (one element per segment) instead of R."""

    def __init__(self, junk: Sequence[int]) -> None:
        super().__init__()
        self.junk = tuple(junk)

    def to_client(self, client_id: int, name: str, value: Any) -> Any:
        return self.keep(client_id, name, self.junk if name == "R" else value)


class RogueAnnouncedValue(ColludingUpload):
    """The colluder announces A_cj = aim_j * prod_{k != c} A_kj^{-1}, so that the recomputed R_j is
    aim_j = factors[j] (times the target's A_tj when a target is given)."""

    def __init__(self, params: Params, colluder: int, colluder_sk: int, factors: Sequence[int],
                 target: int | None = None) -> None:
        super().__init__(params, colluder, colluder_sk)
        self.factors, self.target = list(factors), target

    def forge(self, upload: Ciphertext) -> Ciphertext:
        n2 = self.params.group_modulus
        others = [c for k, c in self.received["E"].items() if k != self.colluder]
        rogue = []
        for j, (_, b) in enumerate(upload.e2):
            aim = self.factors[j] * (1 if self.target is None else self.received["E"][self.target].e2[j][0]) % n2
            rogue.append((aim * inverse(product([c.e2[j][0] for c in others], n2), n2) % n2, b))
        return Ciphertext(upload.e1, tuple(rogue))


@dataclass(frozen=True)
class E8Demo:
    """Three rounds: R = (1 + n) g^y to all; R = -g^y to all; R = (1 + n) g^y through a colluder's
    announced value, past the announced-values check (option `announce_challenge`). One R_j per
    segment in `v1`, the carrier's R_0 alone in `v2`. `degenerate_errors`: what the profile's own
    ResGen does with R = 1 + n and R = -1 (`v1` answers, `v2` refuses)."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    sks: list[int]
    pks: list[int]
    y: int
    degenerate_errors: list[str | None]
    junk_challenge: list[int]
    junk_residue: int
    junk_element_error: str | None
    junk_responses: list[list[int]]
    recovered_sks: list[int]
    sign_challenge: list[int]
    sign_responses: list[list[int]]
    recovered_parities: list[int]
    sign_jacobi: int
    n_mod_4: int
    colluder: int
    rogue_values: list[int]
    announced_check_errors: list[str | None]
    colluded_responses: list[list[int]]
    colluded_recovered_sks: list[int]
    round_errors: list[str | None]


def e8_junk_challenge(params: V1Params, rng: RandomSource, clients: int = 3, encoding: Encoding | None = None,
                      dim: int | None = None) -> E8Demo:
    """E8: T_i = ((1 + n) g^y)^{sk_i} = (1 + sk_i*n) * pk_i^y, so L(T_i * pk_i^{-y}) = sk_i mod n = sk_i.

    With R = -g^y, T_i * pk_i^{-y} = (-1)^{sk_i}: the parity. In the third round the last client
    colludes (E9's rogue announced value) so that the announced g^r2 multiply to the junk R: the
    check of option `announce_challenge` passes and the honest clients reveal sk_i all the same.
    Every round ends at the server's own Dec. In `v2` the junk R is the carrier's R_0 and passes
    the degenerate-element check of its ResGen, which refuses only R = 1 + n and R = -1 (y = 0).
    Draws alpha, sk_i, the updates, three rounds' Enc draws, then y.
    """
    encoding = default_encoding(clients, encoding)
    dim = encoding.slots_per_segment(params.modulus_bits) if dim is None else dim
    n, n2, g = params.n, params.n2, params.g
    alpha, sks, updates, draws = draw_round(params, encoding, clients, dim, rng)
    u = encoding.segment_count(dim, params.modulus_bits)
    more = [[draw_enc(params, u, rng) for _ in range(clients)] for _ in range(2)]
    y = exponent(params.exponent_bound, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    online, colluder, weights = list(range(clients)), clients - 1, [1] * clients
    width = len(draws[0])  # the challenge's length: u in v1, 1 (the carrier) in v2
    junk = [(1 + n) * power(g, y, n2) % n2] * width
    sign = [n2 - power(g, y, n2)] * width
    networks = [JunkChallenge(junk), JunkChallenge(sign), RogueAnnouncedValue(params, colluder, sks[colluder], junk)]
    errors = [error_code(lambda k=k: replay_round(params, encoding, key, pairs, online, updates, weights, rounds,
                                                  network=networks[k], hardening=Hardening() if k < 2 else TODAY))
              for k, rounds in enumerate([draws, *more])]
    junk_t, sign_t, colluded_t = ([network.received["T"][i] for i in online] for network in networks)
    unmask = [power(pk.pk, -y, n2) for pk in pairs]
    colluded = networks[2]
    announced = [list(a.values) for a in colluded.received["announced g^r2"][0]]
    return E8Demo(
        n=n, g=g, encoding=dataclasses.asdict(encoding), alpha=alpha, sks=sks, pks=[p.pk for p in pairs], y=y,
        degenerate_errors=[error_code(lambda r=r: res_gen(params, [r] * width, sks[0])) for r in (1 + n, n2 - 1)],
        junk_challenge=junk, junk_residue=junk[0] % n, junk_element_error=error_code(
            lambda: check_nondegenerate(params, junk[0], "R")),
        junk_responses=[list(t) for t in junk_t],
        recovered_sks=[l_function(t[0] * m % n2, n) for t, m in zip(junk_t, unmask)],
        sign_challenge=sign, sign_responses=[list(t) for t in sign_t],
        recovered_parities=[0 if t[0] * m % n2 == 1 else 1 for t, m in zip(sign_t, unmask)],
        sign_jacobi=int(gmpy2.jacobi(sign[0] % n, n)), n_mod_4=n % 4, colluder=colluder,
        rogue_values=[a for a, _ in colluded.received["E"][colluder].e2],
        announced_check_errors=[error_code(lambda i=i: check_challenge(
            params, colluded.received["R"][i], announced, [a for a, _ in colluded.received["E"][i].e2]))
            for i in online[:-1]],
        colluded_responses=[list(t) for t in colluded_t],
        colluded_recovered_sks=[l_function(t[0] * m % n2, n) for t, m in zip(colluded_t[:-1], unmask)],
        round_errors=errors,
    )


def sign_flipped_proof(params: Params, x: int, statement: Statement, rng: RandomSource) -> Proof:
    """A valid proof for y = -g^x from x alone: the verifier's t' = g^z * y^{-c} is (-1)^c * g^k, so
    hash with t = +-g^k and keep the one whose challenge has the matching parity (3 tries in 4)."""
    n2 = params.group_modulus
    context = statement_context(params, statement)
    y = n2 - power(params.g, x, n2)
    while True:
        k, t = commit(params, rng)
        for sign, t_claimed in ((0, t), (1, n2 - t)):
            c = proof_challenge(params, context, y, t_claimed)
            if c % 2 == sign:
                return Proof(c, k + c * x)


class SignedAnnouncedValue(ColludingUpload):
    """What the proofs leave: the colluder announces -g^{r_cj2} for its g^{r_cj2}, with proofs forged
    from its r_cj2 (`sign_flipped_proof`), so that R_j = -R'_j passes every check. A client answers
    R_j^{sk_i} = (-1)^{sk_i} * R'_j^{sk_i}: with an odd sk_i the server's Dec shows the parity of the
    sum of the sk_i; with the even sk_i of the hardened KeyGen nothing changes."""

    def __init__(self, params: Params, colluder: int, colluder_sk: int, exponents: Sequence[int], round_id: int,
                 online: Sequence[int], rng: RandomSource) -> None:
        super().__init__(params, colluder, colluder_sk)
        self.exponents, self.round_id, self.online, self.rng = list(exponents), round_id, tuple(online), rng

    def forge(self, upload: Ciphertext) -> Ciphertext:
        n2 = self.params.group_modulus
        return Ciphertext(upload.e1, tuple((n2 - a, b) for a, b in upload.e2))

    def forge_proofs(self, proofs: tuple[Proof, ...]) -> tuple[Proof, ...]:
        return tuple(sign_flipped_proof(self.params, r, Statement("g^r2", self.colluder, j, self.round_id, self.online),
                                        self.rng) for j, r in enumerate(self.exponents))


@dataclass(frozen=True)
class SignKeyRecord:
    """beta = -g^alpha at DSE, for clients with the round's sk_i and with even ones (hardened KeyGen)."""

    sign_beta: int
    sign_beta_element_error: str | None
    sign_beta_proof: list[int]
    sign_beta_proof_error: str | None
    model: str
    nonces: list[str]
    dse_errors: list[str | None]
    even_sks: list[int]
    even_nonces: list[str]
    even_dse_errors: list[str | None]


@dataclass(frozen=True)
class E8KeyDemo(RoundRecord, SignKeyRecord):
    """A server key outside <g>: beta = 1 + n in a v1 round, and beta = -g^alpha at DSE."""

    beta: int
    beta_element_error: str | None
    leaked: list[list[int]]
    exposed_bits: int
    round_error: str | None


def sign_server_key(params: V1Params, alpha: int, pairs: Sequence[KeyPair], rng: RandomSource) -> dict[str, Any]:
    """The fields of a `SignKeyRecord`: beta = -g^alpha passes the element check and a proof (forged:
    knowledge of alpha only holds up to sign), but DSE computes key_i from beta^{sk_i} =
    (-1)^{sk_i} pk_i^alpha: it fails exactly for odd sk_i, and the server sees who aborts. Even sk_i
    (the hardened KeyGen) do not fail. Draws the proof's nonces, one SE nonce per client, then even
    sk_i and their SE nonces."""
    n2, clients = params.n2, len(pairs)
    sign_beta = n2 - power(params.g, alpha, n2)
    statement = Statement("server key")
    proof = sign_flipped_proof(params, alpha, statement, rng)
    model = b"global model W"
    nonces = [rng.token_bytes(12) for _ in range(clients)]
    even = [key_gen(params, rng, even=True) for _ in range(clients)]
    even_nonces = [rng.token_bytes(12) for _ in range(clients)]

    def dse_error(sk: int, pk: int, nonce: bytes, client_id: int) -> str | None:
        sealed = se(params, pk, alpha, model, 0, client_id, ReplayRandom([nonce]))
        return error_code(lambda: dse(params, sign_beta, sk, sealed, 0, client_id))

    return {
        "sign_beta": sign_beta,
        "sign_beta_element_error": error_code(lambda: check_nondegenerate(params, sign_beta, "beta")),
        "sign_beta_proof": [proof.c, proof.z],
        "sign_beta_proof_error": error_code(lambda: verify(params, sign_beta, proof, statement, "beta")),
        "model": model.hex(), "nonces": [x.hex() for x in nonces],
        "dse_errors": [dse_error(p.sk, p.pk, x, i) for i, (p, x) in enumerate(zip(pairs, nonces))],
        "even_sks": [p.sk for p in even], "even_nonces": [x.hex() for x in even_nonces],
        "even_dse_errors": [dse_error(p.sk, p.pk, x, i) for i, (p, x) in enumerate(zip(even, even_nonces))],
    }


def e8_junk_server_key(params: V1Params, rng: RandomSource, clients: int = 2, encoding: Encoding | None = None,
                       dim: int | None = None) -> E8KeyDemo:
    """E8 on `v1`: with beta = 1 + n, E_ij1 = (1 + m_ij*n)(1 + n)^{r_ij1} = 1 + (m_ij + r_ij1)*n mod n^2,
    so L(E_ij1) = m_ij + r_ij1: every bit of m_ij above the exponent's bits (and a carry) is exposed.
    Then beta = -g^alpha at DSE (`sign_server_key`).
    Draws alpha, sk_i, the updates, (r1, r2), then what `sign_server_key` draws.
    """
    if isinstance(params, V2Params):
        raise ParameterError(f"{params.name}: v2 refuses beta = 1 + n at every Enc; e8_junk_server_key_v2 shows it")
    encoding = default_encoding(clients, encoding)
    dim = encoding.slots_per_segment(params.modulus_bits) if dim is None else dim
    n = params.n
    alpha, sks, updates, draws = draw_round(params, encoding, clients, dim, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    junk_key = ServerKey(key.alphas, (1 + n,))
    network = Recorder()
    error = error_code(lambda: replay_round(params, encoding, junk_key, pairs, list(range(clients)), updates,
                                            [1] * clients, draws, network=network))
    uploads = [network.received["E"][i] for i in range(clients)]
    return E8KeyDemo(
        **round_record(params, encoding, alpha, sks, pairs, network.received["pk_S"][0], updates, draws, uploads),
        beta=1 + n, beta_element_error=error_code(lambda: check_nondegenerate(params, 1 + n, "beta")),
        leaked=[[l_function(x, n) for x in upload.e1] for upload in uploads],
        exposed_bits=params.modulus_bits - 1 - params.exponent_bits, round_error=error,
        **sign_server_key(params, alpha, pairs, rng),
    )


@dataclass(frozen=True)
class E8KeyV2Demo(RoundRecord, SignKeyRecord):
    """A server key in <1 + n> against `v2`: refused by every Enc; what an Enc without that check would
    have sent and leaked; and beta = -g^alpha at DSE. The round record is the honest round on the same
    draws (its data elements C_ij and carrier pairs E_i02 do not depend on beta)."""

    betas: list[int]
    beta_element_errors: list[str | None]
    enc_errors: list[str | None]
    round_error: str | None
    bypassed_carriers: list[list[int]]
    leaked: list[list[int]]
    exposed_bits: int
    recovered_masks: list[int]
    recovered: list[list[int]]


def e8_junk_server_key_v2(params: V2Params, rng: RandomSource, clients: int = 2, encoding: Encoding | None = None,
                          dim: int | None = None) -> E8KeyV2Demo:
    """E8 on `v2`: a beta = 1 + b*n in <1 + n> is 1 mod n, and `v2`'s Enc refuses it (`degenerate-element`,
    spec 10.5) for every b: a round under beta = 1 + n stops at the first client's Enc.

    What the check prevents is computed with the check bypassed, honestly: the carrier is v1's Enc of
    r_i (spec 10.4), so `enc_v1` under the junk beta on the client's own draws (r_i, r_i01, r_i02) is the
    carrier E_i01' = (1 + r_i*n)(1 + b*n)^{r_i01} = 1 + (r_i + b*r_i01)*n that an Enc without the check
    would send, and L(E_i01') = r_i + b*r_i01. With b = 1 it exposes the top L - ell bits of r_i (up to a
    carry); with b = 2^L it is r_i + 2^L * r_i01 < n, so r_i = L(E_i01') mod 2^L exactly, and r_i opens
    every C_ij of the client (`unmask_segments`): one element of the server's choice, and the
    whole update. Then beta = -g^alpha at DSE (`sign_server_key`), which passes the check.
    Draws alpha, sk_i, the updates, (r_i, r_i01, r_i02), then what `sign_server_key` draws.
    """
    if not isinstance(params, V2Params):
        raise ParameterError(f"{params.name} is not a v2 parameter set: e8_junk_server_key shows E8's server key")
    encoding = default_encoding(clients, encoding)
    dim = encoding.slots_per_segment(params.modulus_bits) if dim is None else dim
    n = params.n
    alpha, sks, updates, draws = draw_round(params, encoding, clients, dim, rng)
    key, pairs = replayed_keys(params, alpha, sks)
    online = list(range(clients))
    betas = [1 + n, 1 + params.mask_bound * n]
    error = error_code(lambda: replay_round(params, encoding, ServerKey(key.alphas, (betas[0],)), pairs, online,
                                            updates, [1] * clients, draws))
    honest = replay_round(params, encoding, key, pairs, online, updates, [1] * clients, draws)
    uploads = [honest.ciphertexts[i] for i in online]
    record = round_record(params, encoding, alpha, sks, pairs, honest.pk_s, updates, draws, uploads)
    # v2's Enc without its check of beta: the carrier as v1's Enc computes it, on the client's own draws.
    carriers = [[enc_v1(params, beta, honest.pk_s, [r], ReplayRandom([r1[0], r2[0]])).e1[0]
                 for r, r1, r2 in zip(record["masks"], record["r1"], record["r2"])] for beta in betas]
    leaked = [[l_function(x, n) for x in row] for row in carriers]
    recovered_masks = [v % params.mask_bound for v in leaked[1]]
    return E8KeyV2Demo(
        **record,
        betas=betas, beta_element_errors=[error_code(lambda b=b: check_nondegenerate(params, b, "beta")) for b in betas],
        enc_errors=[error_code(lambda b=b: enc_v2(params, b, honest.pk_s, record["segments"][0],
                                                  ReplayRandom(draws[0][0]))) for b in betas],
        round_error=error, bypassed_carriers=carriers, leaked=leaked,
        exposed_bits=params.mask_bits - params.exponent_bits, recovered_masks=recovered_masks,
        recovered=[unmask_segments(params, c, r) for c, r in zip(uploads, recovered_masks)],
        **sign_server_key(params, alpha, pairs, rng),
    )
