"""Proofs of knowledge of a discrete logarithm (spec 5.14): the hardening against E8, E9 and E10.

A prover who knows x with y = g^x convinces anyone of it without revealing x, in a group whose
order nobody knows (Z*_{n^2}), Schnorr-style with the Fiat-Shamir transform:

    commit     k uniform in [1, 2^{|x| + 256}),  t = g^k
    challenge  c = SHAKE-256("MPKSA proof of knowledge", context || g || y || t), 128 bits
    respond    z = k + c*x over the integers

The proof is (c, z). The verifier checks 0 <= z < 2^{|x| + 257}, recomputes t = g^z * y^{-c}, and
accepts when hashing it gives c back. z is never reduced (the order is unknown), so k is 128 bits
wider than c*x and z reveals x only with statistical distance below 2^-128. The context binds the
proof to its use (whose key, which round, which set S, which segment): a proof made for one use
fails for any other.
"""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2

from .errors import ChallengeMismatchError, DimensionMismatchError, MalformedInputError, ParameterError, ProofError, show
from .messages import Announced, KeyPair, Proof, ServerKey, Statement
from .params import PROOF_CHALLENGE_BITS, Params, i2osp, proof_nonce_bits, proof_response_bound, shake
from .randomness import SYSTEM_RANDOM, RandomSource, exponent
from .validate import check_exponent, check_group_element, check_integer

PROOF_LABEL = b"MPKSA proof of knowledge"
STATEMENT_KINDS = ("key", "server key", "g^r2")


def statement_context(params: Params, statement: Statement) -> bytes:
    """kind || name || I2OSP(round, 8) || I2OSP(client id, 4) || I2OSP(index, 4) || I2OSP(|S|, 4) ||
    the ids of S in increasing order, I2OSP(id, 4) each; kind and name as I2OSP(length, 2) || ASCII."""
    if statement.kind not in STATEMENT_KINDS:
        raise MalformedInputError(f"statement kind {show(statement.kind)} must be one of {', '.join(STATEMENT_KINDS)}")
    for value, bits, what in ((statement.round_id, 64, "round"), (statement.client_id, 32, "client id"),
                              (statement.index, 32, "index"), *((i, 32, "S member") for i in statement.online)):
        if not 0 <= check_integer(value, what) < 1 << bits:
            raise MalformedInputError(f"statement {what} = {show(value)} must lie in [0, 2^{bits})")
    online = sorted(statement.online)
    if len(set(online)) != len(online):
        raise MalformedInputError(f"the set S of a statement repeats an id: {online}")
    text = [statement.kind.encode("ascii"), params.name.encode("ascii")]
    fields = [i2osp(len(t), 2) + t for t in text]
    fields += [i2osp(statement.round_id, 8), i2osp(statement.client_id, 4), i2osp(statement.index, 4),
               i2osp(len(online), 4), *(i2osp(i, 4) for i in online)]
    return b"".join(fields)


def commit(params: Params, rng: RandomSource) -> tuple[int, int]:
    """The prover's nonce k, uniform in [1, 2^{|x| + 256}), and its commitment t = g^k (constant time)."""
    k = exponent(1 << proof_nonce_bits(params), rng)
    return k, int(gmpy2.powmod_sec(params.g, k, params.group_modulus))


def proof_challenge(params: Params, context: bytes, y: int, t: int) -> int:
    """c = SHAKE-256 over I2OSP(|context|, 2) || context || g || y || t (elements at the group's length)."""
    size = (params.group_modulus.bit_length() + 7) // 8
    data = i2osp(len(context), 2) + context + b"".join(i2osp(v, size) for v in (params.g, y, t))
    return int.from_bytes(shake(PROOF_LABEL, data, PROOF_CHALLENGE_BITS // 8), "big")


def respond(k: int, c: int, x: int) -> int:
    """z = k + c*x over the integers."""
    return k + c * x


def prove(params: Params, x: int, y: int, statement: Statement, rng: RandomSource = SYSTEM_RANDOM) -> Proof:
    """A proof of knowledge of x with y = g^x, bound to `statement`. Draws the nonce k."""
    check_exponent(params, x, "x")
    context = statement_context(params, statement)
    k, t = commit(params, rng)
    c = proof_challenge(params, context, y, t)
    return Proof(c, respond(k, c, x))


def verify(params: Params, y: int, proof: Proof | None, statement: Statement, name: str) -> None:
    """Accept the proof for y = g^x under `statement`, or raise `ProofError` naming `name`."""
    check_group_element(params, y, name)
    context = statement_context(params, statement)
    if proof is None:
        raise ProofError(f"{name} comes without a proof of knowledge ({statement.kind})")
    c, z = check_integer(proof.c, f"proof c of {name}"), check_integer(proof.z, f"proof z of {name}")
    if not 0 <= c < 1 << PROOF_CHALLENGE_BITS or not 0 <= z < proof_response_bound(params):
        raise ProofError(f"the proof for {name} has c or z out of range (c < 2^{PROOF_CHALLENGE_BITS}, "
                         f"z < {show(proof_response_bound(params))})")
    n = params.group_modulus
    t = int(gmpy2.powmod(params.g, z, n) * gmpy2.powmod(gmpy2.invert(y, n), c, n) % n)
    if proof_challenge(params, context, y, t) != c:
        raise ProofError(f"the proof of knowledge for {name} = {show(y)} does not verify ({statement.kind}, "
                         f"client {statement.client_id}, index {statement.index}, round {statement.round_id})")


# --- the hardened round's uses (spec 5.13) ------------------------------------------------------

def check_even_key(sk: int) -> None:
    """A hardened client takes part only with the even sk_i of a hardened KeyGen: (-1)^{sk_i} = 1 (E8)."""
    if sk % 2:
        raise ParameterError("a hardened round needs the even sk_i of a hardened KeyGen (setup with the hardening)")


def register(params: Params, client_id: int, pair: KeyPair, rng: RandomSource = SYSTEM_RANDOM) -> KeyPair:
    """KeyGen's registration: the key pair with its proof of knowledge of sk_i, bound to the client id."""
    return KeyPair(pair.sk, pair.pk, prove(params, pair.sk, pair.pk, Statement("key", client_id=client_id), rng))


def publish(params: Params, key: ServerKey, rng: RandomSource = SYSTEM_RANDOM) -> ServerKey:
    """SysGen's publication: the server key with a proof of knowledge of each alpha_j."""
    proofs = tuple(prove(params, a, b, Statement("server key", index=j), rng)
                   for j, (a, b) in enumerate(zip(key.alphas, key.betas)))
    return ServerKey(key.alphas, key.betas, proofs)


def check_server_key(params: Params, key: ServerKey) -> None:
    """The client's check of the published beta_j: one proof of knowledge of alpha_j each."""
    if len(key.proofs) != len(key.betas):
        raise ProofError(f"the server key has {len(key.betas)} beta but {len(key.proofs)} proofs")
    for j, (beta, proof) in enumerate(zip(key.betas, key.proofs)):
        verify(params, beta, proof, Statement("server key", index=j), f"beta_{j + 1}")


def check_announced_keys(params: Params, announced: Sequence[Announced]) -> None:
    """The client's check of the announced keys of S: each pk_k with its registration proof."""
    for a in announced:
        if len(a.values) != 1 or len(a.proofs) != 1:
            raise ProofError(f"the announced key of client {a.client_id} needs one value and one proof")
        verify(params, a.values[0], a.proofs[0], Statement("key", client_id=a.client_id), f"pk_{a.client_id}")


def prove_announced(params: Params, round_id: int, online: Sequence[int], client_id: int, values: Sequence[int],
                    exponents: Sequence[int], rng: RandomSource = SYSTEM_RANDOM) -> tuple[Proof, ...]:
    """Client k's proofs of knowledge of r_kj2 for each of its g^{r_kj2}, bound to the round, S, k, j."""
    if len(values) != len(exponents):
        raise DimensionMismatchError(f"{len(values)} values g^r2 but {len(exponents)} exponents")
    return tuple(prove(params, r, a, Statement("g^r2", client_id, j, round_id, tuple(online)), rng)
                 for j, (a, r) in enumerate(zip(values, exponents)))


def check_announced_values(params: Params, round_id: int, online: Sequence[int],
                           announced: Sequence[Announced]) -> None:
    """The client's check of the announced g^{r_kj2}: for the S it saw announced, one proof each."""
    ids = [a.client_id for a in announced]
    if ids != list(online):
        raise ChallengeMismatchError(f"the announced g^r2 are for clients {ids}, not for S = {list(online)}")
    for a in announced:
        if len(a.proofs) != len(a.values):
            raise ProofError(f"client {a.client_id} announces {len(a.values)} values g^r2 with {len(a.proofs)} proofs")
        for j, (value, proof) in enumerate(zip(a.values, a.proofs)):
            verify(params, value, proof, Statement("g^r2", a.client_id, j, round_id, tuple(online)),
                   f"g^r2[{a.client_id}][{j}]")
