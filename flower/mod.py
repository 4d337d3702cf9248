"""The client side: a Flower mod that wraps the user's ClientApp (spec 11.4).

Like `flwr.client.mod.secaggplus_mod`, it answers the TRAIN messages of the secure-aggregation
stages itself and calls the wrapped ClientApp once per attempt, in the upload stage:

- keys: the checks of beta, KeyGen on first use (sk_i, pk_i kept in the node's context state
  across rounds), pk_i up;
- upload: check pk_S, DSE of the model, training by the wrapped ClientApp, then the update (trained
  model minus the model received) quantized, weighed by num_examples (Eq. (1)), packed and Enc'd;
- respond: the checks of the challenge, the re-run guard (E7), then ResGen.

With the hardening (spec 5.13, 5.14), which the server turns on for a run and a hardened mod
demands, the client also checks that beta, pk_S and R_j are not degenerate, takes part with an even
sk_i registered with a proof of knowledge, checks the proofs of beta, of every announced key and of
every announced g^{r_kj2}, recomputes pk_S and R_j from the announced values, and proves knowledge
of its own r_j2.

Every other message type passes through. A TRAIN message that is not an MPKSA stage is refused:
a client that installed the mod never sends a plaintext update. Every refusal is a typed error,
sent back as an error reply whose reason starts with the error's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from logging import DEBUG, WARNING

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Error, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import Code, parameters_to_ndarrays
from flwr.common.constant import ErrorCode
from flwr.common.logger import log
from flwr.compat.common import recorddict_compat as compat
from mpksa.encoding import Encoding
from mpksa.errors import (
    AggregateKeyMismatchError,
    DimensionMismatchError,
    MalformedInputError,
    MpksaError,
    ParameterError,
)
from mpksa.guard import MaskGuard, RerunGuard, update_digest
from mpksa.messages import Statement
from mpksa.proofs import check_even_key
from mpksa.randomness import SYSTEM_RANDOM, RandomSource

from . import records as r
from .profiles import StageProfile, stage_profile

IDLE = "idle"


@dataclass
class ClientState:
    """What a client keeps in its context between messages (a ConfigRecord, spec 11.4).

    The key pair, the client id the server assigned and the key's registration proof outlive
    rounds; `stage` to `basis` describe the attempt in progress. `answered_digests` and
    `answered_sets` are the re-run guard's memory (one (update digest, S) pair per answered
    challenge), `mask_digests` the MaskGuard's (v2), oldest first. Flower keeps a node's context
    for one run: a new run starts afresh.
    """

    stage: str = IDLE
    server_round: int = 0
    attempt: int = 0
    profile: str = ""
    params: str = ""
    hardened: bool = False
    sk: bytes = b""
    pk: bytes = b""
    client: int = 0
    key_proof: bytes = b""
    beta: bytes = b""
    online: list[int] = field(default_factory=list)
    segments: int = 0
    digest: bytes = b""
    basis: bytes = b""
    answered_digests: list[bytes] = field(default_factory=list)
    answered_sets: list[bytes] = field(default_factory=list)
    mask_digests: list[bytes] = field(default_factory=list)

    @classmethod
    def load(cls, context: Context) -> ClientState:
        record = context.state.config_records.get(r.STATE)
        if record is None:
            return cls()
        state = cls()
        for name, value in record.items():
            setattr(state, name.replace("-", "_"), list(value) if isinstance(value, list) else value)
        return state

    def save(self, context: Context) -> None:
        values = {name.replace("_", "-"): value for name, value in vars(self).items()}
        context.state.config_records[r.STATE] = ConfigRecord(values)

    def guard(self) -> RerunGuard:
        guard = RerunGuard()
        for digest, online in zip(self.answered_digests, self.answered_sets):
            guard.admit(digest, ids_of(online))
        return guard

    def remember(self, digest: bytes, online: list[int], limit: int) -> None:
        if (digest, ids_bytes(online)) in zip(self.answered_digests, self.answered_sets):
            return
        self.answered_digests = (self.answered_digests + [digest])[-limit:]
        self.answered_sets = (self.answered_sets + [ids_bytes(online)])[-limit:]


def ids_bytes(ids: list[int]) -> bytes:
    return b"".join(i.to_bytes(4, "big") for i in sorted(ids))


def ids_of(data: bytes) -> list[int]:
    return [int.from_bytes(data[k:k + 4], "big") for k in range(0, len(data), 4)]


class MpksaMod:
    """The mod. `allow_insecure` admits parameter sets marked insecure (tests only).

    `hardened`: refuse a server that does not run the hardening (spec 5.13, 5.14); a server that
    does is followed whatever this flag says. `guard_size` bounds the guards' memory (answered
    updates and used mask exponents remembered, newest kept).
    """

    def __init__(self, *, allow_insecure: bool = False, hardened: bool = False, guard_size: int = 1024,
                 rng: RandomSource = SYSTEM_RANDOM) -> None:
        self.allow_insecure = allow_insecure
        self.rng = rng  # the source of every secret this client draws (the CSPRNG by default)
        self.hardened = hardened
        self.guard_size = guard_size

    def __call__(self, msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
        if msg.metadata.message_type != MessageType.TRAIN:
            return call_next(msg, ctxt)
        state = ClientState.load(ctxt)
        try:
            config = msg.content.config_records.get(r.CONFIG)
            if config is None:
                raise r.ProtocolStageError("a train message without an MPKSA stage: no plaintext update is sent")
            stage = r.read_str(config, "stage")
            if stage == r.KEYS:
                content = self.keys(state, config)
            elif stage == r.UPLOAD:
                content = self.upload(state, config, msg, ctxt, call_next)
                if isinstance(content, Message):  # the wrapped ClientApp replied with an error
                    state.stage = IDLE
                    state.save(ctxt)
                    return content
            elif stage == r.RESPOND:
                content = self.respond(state, config, msg.content)
            else:
                raise r.ProtocolStageError(f"unknown stage {stage!r}; stages are {', '.join(r.STAGES)}")
        except MpksaError as error:
            log(WARNING, "MPKSA: refused %s message: %s: %s", msg.metadata.message_type, error.code, error)
            state.stage = IDLE
            state.save(ctxt)
            return Message(Error(code=ErrorCode.MOD_FAILED_PRECONDITION, reason=f"{error.code}: {error}"), reply_to=msg)
        state.save(ctxt)
        return Message(content, reply_to=msg)

    # --- keys: check beta, KeyGen once, pk_i up (Alg. 1, lines 1 and 2) -------------------------

    def keys(self, state: ClientState, config: ConfigRecord) -> RecordDict:
        profile = self._profile(config)
        server_round, attempt = r.read_int(config, "round"), r.read_int(config, "attempt", 1, r.MAX_ATTEMPTS - 1)
        hardened = r.read_bool(config, "hardened")
        if self.hardened and not hardened:
            raise MalformedInputError("the server runs MPKSA without the hardening, which this client requires")
        same_key = (state.profile, state.params) == (profile.name, profile.params_name) and bool(state.sk)
        client = r.read_int(config, "client", 1, (1 << 32) - 1)
        if same_key and state.client and client != state.client:
            raise MalformedInputError(f"the server names this client {client}, having registered it as {state.client}")
        width = profile.element_bytes
        beta = profile.check_power_base(r.element_of(r.read_bytes(config, "beta"), width, "beta"), "beta", hardened)
        if hardened:
            proof = r.proof_of(r.read_bytes(config, "beta-proof"), profile.proof_bytes, "beta")
            profile.check_proof(Statement("server key", index=0), beta, proof, "beta")
        if not same_key or (hardened and int.from_bytes(state.sk, "big") % 2):
            sk = profile.new_exponent(even=hardened)
            state.sk = sk.to_bytes((sk.bit_length() + 7) // 8, "big")
            state.pk = r.element_bytes(profile.public(sk), width)
            state.key_proof = b""
            log(DEBUG, "MPKSA: new key pair for %s/%s", profile.name, profile.params_name)
        reply = r.header(r.KEYS, profile.name, profile.params_name, server_round, attempt) | {"pk": state.pk}
        if hardened:
            if not state.key_proof:  # KeyGen's registration, bound to the client id (spec 5.14)
                _, proof = profile.prove(Statement("key", client_id=client), int.from_bytes(state.sk, "big"))
                state.key_proof = r.proof_bytes(proof, profile.proof_bytes)
            reply["pk-proof"] = state.key_proof
        state.stage, state.server_round, state.attempt, state.hardened = r.KEYS, server_round, attempt, hardened
        state.profile, state.params, state.client = profile.name, profile.params_name, client
        state.beta = r.element_bytes(beta, width)
        return RecordDict({r.CONFIG: ConfigRecord(reply)})

    def _profile(self, config: ConfigRecord) -> StageProfile:
        profile = stage_profile(r.read_str(config, "profile"), r.read_str(config, "params"), rng=self.rng)
        if profile.insecure and not self.allow_insecure:
            raise ParameterError(f"parameter set {profile.params_name!r} is insecure; this client refuses it")
        return profile

    # --- upload: check pk_S, DSE, train, Enc (Alg. 1, lines 5 to 11) ----------------------------

    def upload(self, state: ClientState, config: ConfigRecord, msg: Message, ctxt: Context,
               call_next: ClientAppCallable) -> RecordDict | Message:
        profile = self._continue(state, config, r.KEYS, r.UPLOAD)
        client = r.read_int(config, "client", 1, (1 << 32) - 1)
        if client != state.client:
            raise MalformedInputError(f"the upload stage names this client {client}, the keys stage {state.client}")
        online = r.read_ids(config, "online")
        if client not in online or len(online) < 2:
            raise MalformedInputError(f"S = {online} must hold at least two clients, this one ({client}) among them")
        width = profile.element_bytes
        pk_i, sk, beta = int.from_bytes(state.pk, "big"), int.from_bytes(state.sk, "big"), int.from_bytes(state.beta, "big")
        pk_s = profile.check_power_base(r.element_of(r.read_bytes(config, "pk-s"), width, "pk_S"), "pk_S", state.hardened)
        arrays = r.arrays_of(msg.content, r.UPLOAD)
        keys = self._announced_keys(profile, state, arrays, online) if state.hardened else None
        profile.check_aggregate_key(pk_s, pk_i, keys)
        enc = profile.encoding(Encoding(r.read_int(config, "frac-bits"), r.read_float(config, "clip"),
                                        r.read_int(config, "weight-max"), r.read_int(config, "max-clients")))
        sealed = r.bytes_of(arrays, "sealed-model")
        round_id = r.aead_round(state.server_round, state.attempt)
        model = r.model_of(profile.unseal(beta, sk, sealed, round_id, client))

        inner = RecordDict({key: rec for key, rec in msg.content.items() if key not in (r.CONFIG, r.ARRAYS)})
        model_record = r.read_str(config, "model-record")
        if model_record in inner or model_record in (r.CONFIG, r.ARRAYS):
            raise MalformedInputError(f"model-record '{model_record}' names a record the message already has")
        inner[model_record] = model
        msg.content = inner
        out = call_next(msg, ctxt)
        if out.has_error():
            return out
        update, weight, metrics = update_of(out.content, model)

        packed = profile.pack(update, weight, enc)
        encrypted = profile.encrypt(beta, pk_s, packed.segments)
        if encrypted.mask is not None:  # v2: never upload under a used mask exponent (spec 10.7)
            digest = MaskGuard(profile.params, state.mask_digests).admit(encrypted.mask)  # type: ignore[arg-type]
            state.mask_digests = (state.mask_digests + [digest])[-self.guard_size:]
        basis = profile.challenge_basis(encrypted.upload)
        out_arrays = {"upload": r.elements_array(encrypted.upload, width)}
        if state.hardened:  # a proof of knowledge of each r_j2, bound to the round, S, this client and j
            proofs = [profile.prove(Statement("g^r2", client, j, round_id, tuple(online)), x)[1]
                      for j, x in enumerate(encrypted.proven)]
            out_arrays["upload-proofs"] = r.proofs_array(proofs, profile.proof_bytes)
        state.stage, state.online = r.UPLOAD, online
        state.segments = len(packed.segments)
        state.digest = update_digest([int(q) for q in packed.quantized.tolist()], packed.weight)
        state.basis = b"".join(r.element_bytes(x, width) for x in basis)
        reply = r.header(r.UPLOAD, profile.name, profile.params_name, state.server_round, state.attempt)
        reply["segments"] = state.segments
        return RecordDict({r.CONFIG: ConfigRecord(reply), r.ARRAYS: ArrayRecord(out_arrays),
                           "fitres.metrics": metrics})

    def _continue(self, state: ClientState, config: ConfigRecord, previous: str, stage: str) -> StageProfile:
        """The message continues the attempt this client is in: same profile, round and attempt."""
        profile = self._profile(config)
        here = (profile.name, profile.params_name, r.read_int(config, "round"), r.read_int(config, "attempt"))
        if state.stage != previous or here != (state.profile, state.params, state.server_round, state.attempt):
            raise r.ProtocolStageError(
                f"{stage} for (profile, params, round, attempt) = {here}, but this client is in stage "
                f"{state.stage} of {(state.profile, state.params, state.server_round, state.attempt)}")
        return profile

    @staticmethod
    def _announced_keys(profile: StageProfile, state: ClientState, arrays: ArrayRecord, online: list[int]) -> list[int]:
        """The keys of S in the order of S, each with its registration proof (E5, spec 5.13), this
        client's own key at its own place."""
        width = profile.element_bytes
        keys = r.elements_of(arrays, "announced-keys", width, len(online), "announced-keys")
        proofs = r.proofs_of(arrays, "announced-key-proofs", profile.proof_bytes, len(online), "announced-key-proofs")
        check_even_key(int.from_bytes(state.sk, "big"))
        for client, pk, proof in zip(online, keys, proofs):
            if client == state.client:
                if r.element_bytes(pk, width) != state.pk:
                    raise AggregateKeyMismatchError(f"the key announced for this client ({client}) is not its own")
                continue
            profile.check_proof(Statement("key", client_id=client), pk, proof, f"pk_{client}")
        return keys

    # --- respond: the checks of R, the re-run guard, then ResGen (Alg. 1, lines 15 and 16) --------

    def respond(self, state: ClientState, config: ConfigRecord, content: RecordDict) -> RecordDict:
        profile = self._continue(state, config, r.UPLOAD, r.RESPOND)
        online = r.read_ids(config, "online")
        if sorted(online) != sorted(state.online):
            raise MalformedInputError(f"S = {sorted(online)} differs from the S = {sorted(state.online)} of the upload")
        guard = state.guard()
        width, size = profile.element_bytes, profile.challenge_size(state.segments)
        arrays = r.arrays_of(content, r.RESPOND)
        challenge = r.elements_of(arrays, "challenge", width, size, "the challenge")
        for j, x in enumerate(challenge):
            profile.check_power_base(x, f"R_{j}", state.hardened)
        if state.hardened:
            self._check_announced_bases(profile, state, arrays, challenge)
        guard.admit(state.digest, online)  # E7: one S per update
        response = profile.respond(challenge, int.from_bytes(state.sk, "big"))
        state.remember(state.digest, online, self.guard_size)
        state.stage = IDLE
        reply = r.header(r.RESPOND, profile.name, profile.params_name, state.server_round, state.attempt)
        return RecordDict({r.CONFIG: ConfigRecord(reply),
                           r.ARRAYS: ArrayRecord({"response": r.elements_array(response, width)})})

    @staticmethod
    def _check_announced_bases(profile: StageProfile, state: ClientState, arrays: ArrayRecord,
                               challenge: list[int]) -> None:
        """Every client's g^{r_kj2} of the S of the upload, in its order, each with its proof (E9),
        and R_j their product, this client's own among them (E4)."""
        width, size, count = profile.element_bytes, len(challenge), len(state.online)
        bases = r.elements_of(arrays, "announced-bases", width, size * count, "announced-bases")
        proofs = r.proofs_of(arrays, "announced-base-proofs", profile.proof_bytes, size * count, "announced-base-proofs")
        own = r.elements(state.basis, width)
        round_id = r.aead_round(state.server_round, state.attempt)
        rows = [bases[k:k + size] for k in range(0, len(bases), size)]
        for position, (client, row) in enumerate(zip(state.online, rows)):
            if client == state.client and row == own:
                continue  # its own values: nothing to prove to itself
            for j, y in enumerate(row):
                profile.check_proof(Statement("g^r2", client, j, round_id, tuple(state.online)), y,
                                    proofs[position * size + j], f"g^r2[{client}][{j}]")
        profile.check_challenge(challenge, rows, own)


def update_of(reply: RecordDict, model: ArrayRecord) -> tuple[np.ndarray, int, ConfigRecord]:
    """From the wrapped ClientApp's FitRes: (trained - received as one float64 vector, num_examples, metrics)."""
    try:
        fitres = compat.recorddict_to_fitres(reply, keep_input=True)
    except KeyError as missing:
        raise MalformedInputError(f"the wrapped ClientApp's reply is not a FitRes: no {missing}") from None
    if fitres.status.code != Code.OK:
        raise MalformedInputError(f"the wrapped ClientApp's fit failed: {fitres.status.message}")
    trained = parameters_to_ndarrays(fitres.parameters)
    received = parameters_to_ndarrays(compat.arrayrecord_to_parameters(model, keep_input=True))
    shapes = [a.shape for a in trained], [a.shape for a in received]
    if shapes[0] != shapes[1]:
        raise DimensionMismatchError(f"the trained model has shapes {shapes[0]}, the received one {shapes[1]}")
    parts = [(a.astype(np.float64) - b.astype(np.float64)).ravel() for a, b in zip(trained, received)]
    update = np.concatenate(parts) if parts else np.zeros(0)
    return update, fitres.num_examples, reply.config_records.get("fitres.metrics", ConfigRecord())


mpksa_mod = MpksaMod()
