"""Algorithm 1: one round of secure aggregation over a set of clients.

Read top to bottom, this is the protocol: who computes what, and what is sent.
Every message passes a `Network`; the honest one delivers it unchanged, an attack
demonstration (`mpksa.findings`) records and substitutes.
Dropouts before S is fixed are simply clients left out of `online` (Theorem 4).
A client of S that drops out after upload aborts the round (finding E7): re-run
it with fresh randomness.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from .aggpkgen import agg_pk_gen, check_pk_s
from .agg import agg
from .chelgen import chel_gen, check_challenge
from .encoding import Encoding, quantize
from .errors import (
    DimensionMismatchError,
    MalformedInputError,
    ParameterError,
    RoundAbortedError,
    SlotOverflowError,
    UnknownClientError,
    show,
)
from .guard import RerunGuard, update_digest
from .keygen import key_gen
from .messages import Aggregate, Announced, Ciphertext, KeyPair, Proof, ServerKey
from .params import Params
from .profiles import profile_of
from .proofs import (
    check_announced_keys,
    check_announced_values,
    check_even_key,
    check_server_key,
    prove_announced,
    publish,
    register,
)
from .randomness import SYSTEM_RANDOM, RandomSource, RecordingRandom
from .resgen import res_gen
from .se import dse, se
from .validate import check_nondegenerate


@dataclass(frozen=True)
class Client:
    """A client's long-term keys and this round's update (a gradient and its weight |D_i|).

    `guard`: the client's re-run guard, kept across rounds (used with `Hardening.rerun_guard`).
    """

    client_id: int
    keys: KeyPair
    update: Sequence[float]
    weight: int = 1
    guard: RerunGuard | None = None


T = TypeVar("T")


class Network(Protocol):
    """What carries every message of Algorithm 1 between the server and client `client_id`.

    `name` says which message it is. To a client: "pk_S", "announced pk" (the keys of S, with
    `announce_keys`), "W*" (the sealed model), "R" (the challenge), "announced g^r2" (every
    g^{r_kj2}, with `announce_challenge`); the announced ones are lists of `Announced`. To the
    server: "E" (the upload, a `Ciphertext`), "proof g^r2" (its proofs, with `prove_knowledge`)
    and "T" (the response). Each call returns what arrives.
    """

    def to_client(self, client_id: int, name: str, value: T) -> T:
        """The server sends `value` to the client; returns what the client receives."""
        ...

    def to_server(self, client_id: int, name: str, value: T) -> T:
        """The client sends `value` to the server; returns what the server receives."""
        ...


class HonestNetwork:
    """Delivers every message unchanged: the paper's model."""

    def to_client(self, client_id: int, name: str, value: T) -> T:
        return value

    def to_server(self, client_id: int, name: str, value: T) -> T:
        return value


HONEST_NETWORK = HonestNetwork()


@dataclass(frozen=True)
class Hardening:
    """Options outside the paper's honest-but-curious model (review C.9, spec 5.13)."""

    announce_keys: bool = False       # E5: clients recompute pk_S from the announced pk_k
    announce_challenge: bool = False  # E4: clients recompute R_j from the announced g^{r_kj2}
    check_elements: bool = False      # E8: clients refuse a beta, pk_S or R_j that is 0, 1 or -1 mod n
    prove_knowledge: bool = False     # E8-E10: even sk_i; beta, every pk_k and every g^{r_kj2} proven
    rerun_guard: bool = False         # E7: a client answers one S per update (Client.guard)

    def __post_init__(self) -> None:
        if (self.prove_knowledge or self.rerun_guard) and not self.announce_keys:
            raise ParameterError("prove_knowledge and rerun_guard need announce_keys: a client learns S from them")
        if self.prove_knowledge and not self.announce_challenge:
            raise ParameterError("prove_knowledge needs announce_challenge: the proofs come with the announced g^r2")


HARDENED = Hardening(announce_keys=True, announce_challenge=True, check_elements=True, prove_knowledge=True,
                     rerun_guard=True)


@dataclass
class RoundResult:
    """Every message of the round, and what the server learned."""

    online: tuple[int, ...]
    pk_s: int
    sealed_models: dict[int, bytes]
    quantized: dict[int, list[int]]
    ciphertexts: dict[int, Ciphertext]
    challenge: tuple[int, ...]
    responses: dict[int, tuple[int, ...]]
    aggregate: Aggregate
    segment_sums: tuple[int, ...]
    weighted_sums: list[int]
    weight_sum: int
    expected_sums: list[int] = field(default_factory=list)
    expected_weight_sum: int = 0

    @property
    def correct(self) -> bool:
        """The decrypted aggregate equals the plaintext sum of the quantized, weighted updates."""
        return (self.weighted_sums, self.weight_sum) == (self.expected_sums, self.expected_weight_sum)


def run_round(params: Params, encoding: Encoding, server_key: ServerKey, clients: Sequence[Client],
              online: Iterable[int], *, model: bytes | None = b"", round_id: int = 0,
              dropped_after_upload: Iterable[int] = (), hardening: Hardening = Hardening(),
              network: Network = HONEST_NETWORK, rng: RandomSource = SYSTEM_RANDOM) -> RoundResult:
    """One iteration of the while loop of Algorithm 1 (lines 3 to 17).

    `model=None` leaves out the model's delivery (SE and DSE, and the nonces they draw).
    """
    profile = profile_of(params)
    registered = {c.client_id: c for c in clients}
    s = tuple(online)
    unknown = [i for i in s if i not in registered]
    if unknown:
        raise UnknownClientError(f"client ids {unknown} in S have no registered public key")
    lengths = {i: len(registered[i].update) for i in s}
    if len(set(lengths.values())) > 1:  # name every group: the first client is not the standard
        groups = {n: [i for i in s if lengths[i] == n] for n in sorted(set(lengths.values()))}
        raise DimensionMismatchError("the updates of S differ in length: "
                                     + "; ".join(f"clients {ids} send {n} values" for n, ids in groups.items()))
    dim = next(iter(lengths.values()), 0)
    unguarded = [i for i in s if hardening.rerun_guard and registered[i].guard is None]
    if unguarded:
        raise ParameterError(f"clients {unguarded} have no RerunGuard, which Hardening.rerun_guard needs")

    # Line 3, server: AggPKGen and SE for each client of S. Hardened: the keys of S are announced.
    pk_s = agg_pk_gen(params, [(i, registered[i].keys.pk) for i in s])
    if len(s) > encoding.max_clients:
        raise SlotOverflowError(f"|S| = {len(s)} exceeds max_clients = {encoding.max_clients}")
    announced_keys = [Announced(k, (registered[k].keys.pk,), _registered(registered[k].keys)) for k in s] \
        if hardening.announce_keys else None
    sealed = {} if model is None else {
        i: se(params, registered[i].keys.pk, server_key.alphas[0], model, round_id, i, rng) for i in s}

    # Lines 5 to 11, each client: check pk_S, DSE, quantize, pack (Eq. (2)), Enc; then upload.
    # Hardened, it first checks beta and pk_S (E8) and the proofs of beta and of the keys of S, and
    # proves knowledge of each r_ij2 it announces.
    quantized, own_g_r2, view, uploads, proofs = {}, {}, {}, {}, {}
    for i in s:
        me = registered[i]
        my_pk_s = network.to_client(i, "pk_S", pk_s)
        my_keys = None if announced_keys is None else network.to_client(i, "announced pk", announced_keys)
        view[i] = s if my_keys is None else tuple(a.client_id for a in my_keys)  # S as client i sees it
        if hardening.check_elements:
            for j, beta in enumerate(server_key.betas):
                check_nondegenerate(params, beta, f"beta_{j + 1}")
            check_nondegenerate(params, my_pk_s, "pk_S")
        if hardening.prove_knowledge and my_keys is not None:
            check_even_key(me.keys.sk)
            check_server_key(params, server_key)
            check_announced_keys(params, my_keys)
        check_pk_s(params, my_pk_s, me.keys.pk, None if my_keys is None else [a.values[0] for a in my_keys])
        if model is not None:
            dse(params, server_key.betas[0], me.keys.sk, network.to_client(i, "W*", sealed[i]), round_id, i)
        quantized[i] = quantize(me.update, encoding)
        hats = profile.encode(quantized[i], me.weight, encoding, params)
        drawn = RecordingRandom(rng)
        upload = profile.enc(params, server_key, my_pk_s, hats, drawn)
        own_g_r2[i] = tuple(a for a, _ in upload.e2)
        uploads[i] = network.to_server(i, "E", upload)
        if hardening.prove_knowledge:
            exponents = profile.announced_exponents(drawn.take())
            proven = prove_announced(params, round_id, view[i], i, own_g_r2[i], exponents, rng)
            proofs[i] = network.to_server(i, "proof g^r2", proven)

    # Lines 13 and 14, server: ChelGen. A client of S that is gone now aborts the round.
    # Hardened: every g^{r_kj2} is announced, with its proofs.
    gone = sorted(set(dropped_after_upload) & set(s))
    if gone:
        raise RoundAbortedError(f"clients {gone} dropped out after upload; re-run the round with fresh randomness")
    challenge = chel_gen(params, [uploads[i] for i in s])
    announced_g_r2 = [Announced(k, tuple(a for a, _ in uploads[k].e2), proofs.get(k, ())) for k in s] \
        if hardening.announce_challenge else None

    # Lines 15 and 16, each client: ResGen; the server receives the responses. Hardened, a client
    # first checks R_j (E8), the proofs of the announced g^{r_kj2}, that R_j is their product (E4),
    # and that it has not answered for another S with this update (E7).
    responses = {}
    for i in s:
        me = registered[i]
        my_challenge = network.to_client(i, "R", challenge)
        if hardening.check_elements:
            for j, r in enumerate(my_challenge):
                check_nondegenerate(params, r, f"R_{j}")
        if announced_g_r2 is not None:
            my_values = network.to_client(i, "announced g^r2", announced_g_r2)
            if hardening.prove_knowledge:
                check_announced_values(params, round_id, view[i], my_values)
            check_challenge(params, my_challenge, [a.values for a in my_values], own_g_r2[i])
        if me.guard is not None and hardening.rerun_guard:
            me.guard.admit(update_digest(quantized[i], me.weight), view[i])
        responses[i] = network.to_server(i, "T", res_gen(params, my_challenge, me.keys.sk))

    # Line 17, server: Agg, Dec, Algorithm 2.
    aggregate = agg(params, [uploads[i] for i in s], [responses[i] for i in s])
    sums = profile.dec(params, server_key, aggregate, len(s))
    weighted_sums, weight_sum = profile.decode(sums, encoding, len(s), dim, params)
    return RoundResult(
        online=s, pk_s=pk_s, sealed_models=sealed, quantized=quantized, ciphertexts=uploads,
        challenge=challenge, responses=responses, aggregate=aggregate, segment_sums=sums,
        weighted_sums=weighted_sums, weight_sum=weight_sum,
        expected_sums=[sum(registered[i].weight * quantized[i][t] for i in s) for t in range(dim)],
        expected_weight_sum=sum(registered[i].weight for i in s),
    )


def _registered(keys: KeyPair) -> tuple[Proof, ...]:
    """The registration proof a key pair carries, if any."""
    return () if keys.proof is None else (keys.proof,)


def setup(params: Params, encoding: Encoding, dim: int, client_ids: Iterable[int],
          rng: RandomSource = SYSTEM_RANDOM, hardening: Hardening = Hardening()) -> tuple[ServerKey, dict[int, KeyPair]]:
    """System initialization of Algorithm 1: SysGen by the server, KeyGen by each client.

    `dim`, the number of model parameters, fixes the number of segments u: `paper` draws one server
    key per segment (Sec. 3.4); the other profiles' keys serve every u. With
    `hardening.prove_knowledge` (spec 5.14) the server publishes beta with a proof of knowledge of
    alpha, and each client draws an even sk_i and registers pk_i with a proof of knowledge of it.
    Draws alpha (then its proof's nonce), then per client sk_i (then its proof's nonce).
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim < 2**32:
        raise MalformedInputError(f"dim = {show(dim)} must be an integer in [0, 2^32)")
    profile = profile_of(params)
    server_key = profile.sys_gen(params, encoding.segment_count(dim, params.modulus_bits), rng)
    if hardening.prove_knowledge:
        server_key = publish(params, server_key, rng)
    keys = {}
    for i in client_ids:
        pair = key_gen(params, rng, even=hardening.prove_knowledge)
        keys[i] = register(params, i, pair, rng) if hardening.prove_knowledge else pair
    return server_key, keys
