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
from .errors import DimensionMismatchError, MalformedInputError, RoundAbortedError, SlotOverflowError, UnknownClientError, show
from .messages import Aggregate, Ciphertext, KeyPair, ServerKey
from .params import Params
from .profiles import profile_of
from .randomness import SYSTEM_RANDOM, RandomSource
from .resgen import res_gen
from .se import dse, se


@dataclass(frozen=True)
class Client:
    """A client's long-term keys and this round's update (a gradient and its weight |D_i|)."""

    client_id: int
    keys: KeyPair
    update: Sequence[float]
    weight: int = 1


T = TypeVar("T")


class Network(Protocol):
    """What carries every message of Algorithm 1 between the server and client `client_id`.

    `name` says which message it is. To a client: "pk_S", "announced pk" (the keys of S, with
    `announce_keys`), "W*" (the sealed model), "R" (the challenge), "announced g^r2" (every
    g^{r_kj2}, with `announce_challenge`). To the server: "E" (the upload, a `Ciphertext`) and
    "T" (the response). Each call returns what arrives.
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
    """Options outside the paper's honest-but-curious model (review C.9)."""

    announce_keys: bool = False       # E5: clients recompute pk_S from the announced pk_k
    announce_challenge: bool = False  # E4: clients recompute R_j from the announced g^{r_kj2}


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

    # Line 3, server: AggPKGen and SE for each client of S.
    pk_s = agg_pk_gen(params, [(i, registered[i].keys.pk) for i in s])
    if len(s) > encoding.max_clients:
        raise SlotOverflowError(f"|S| = {len(s)} exceeds max_clients = {encoding.max_clients}")
    announced_keys = [registered[i].keys.pk for i in s] if hardening.announce_keys else None
    sealed = {} if model is None else {
        i: se(params, registered[i].keys.pk, server_key.alphas[0], model, round_id, i, rng) for i in s}

    # Lines 5 to 11, each client: check pk_S, DSE, quantize, pack (Eq. (2)), Enc; then upload.
    quantized, own_g_r2, uploads = {}, {}, {}
    for i in s:
        me = registered[i]
        my_pk_s = network.to_client(i, "pk_S", pk_s)
        my_keys = None if announced_keys is None else network.to_client(i, "announced pk", announced_keys)
        check_pk_s(params, my_pk_s, me.keys.pk, my_keys)
        if model is not None:
            dse(params, server_key.betas[0], me.keys.sk, network.to_client(i, "W*", sealed[i]), round_id, i)
        quantized[i] = quantize(me.update, encoding)
        hats = profile.encode(quantized[i], me.weight, encoding, params)
        upload = profile.enc(params, server_key, my_pk_s, hats, rng)
        own_g_r2[i] = [a for a, _ in upload.e2]
        uploads[i] = network.to_server(i, "E", upload)

    # Lines 13 and 14, server: ChelGen. A client of S that is gone now aborts the round.
    gone = sorted(set(dropped_after_upload) & set(s))
    if gone:
        raise RoundAbortedError(f"clients {gone} dropped out after upload; re-run the round with fresh randomness")
    challenge = chel_gen(params, [uploads[i] for i in s])
    announced_g_r2 = [[a for a, _ in uploads[k].e2] for k in s] if hardening.announce_challenge else None

    # Lines 15 and 16, each client: ResGen; the server receives the responses.
    responses = {}
    for i in s:
        my_challenge = network.to_client(i, "R", challenge)
        if announced_g_r2 is not None:
            check_challenge(params, my_challenge, network.to_client(i, "announced g^r2", announced_g_r2), own_g_r2[i])
        responses[i] = network.to_server(i, "T", res_gen(params, my_challenge, registered[i].keys.sk))

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


def setup(params: Params, encoding: Encoding, dim: int, client_ids: Iterable[int],
          rng: RandomSource = SYSTEM_RANDOM) -> tuple[ServerKey, dict[int, KeyPair]]:
    """System initialization of Algorithm 1: SysGen by the server, KeyGen by each client.

    `dim`, the number of model parameters, fixes the number of segments u: `paper` draws one server
    key per segment (Sec. 3.4); the other profiles' keys serve every u.
    """
    from .keygen import key_gen

    if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim < 2**32:
        raise MalformedInputError(f"dim = {show(dim)} must be an integer in [0, 2^32)")
    profile = profile_of(params)
    server_key = profile.sys_gen(params, encoding.segment_count(dim, params.modulus_bits), rng)
    return server_key, {i: key_gen(params, rng) for i in client_ids}
