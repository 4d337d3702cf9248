"""The client side: a Flower mod that wraps the user's ClientApp (spec 11.4).

Like `flwr.client.mod.secaggplus_mod`, it answers the TRAIN messages of the secure-aggregation
stages itself and calls the wrapped ClientApp once per attempt, in the upload stage:

- keys: KeyGen on first use (sk_i, pk_i kept in the node's context state across rounds), pk_i up;
- upload: check pk_S, DSE of the model, training by the wrapped ClientApp, then the update (trained
  model minus the model received) quantized, weighed by num_examples (Eq. (1)), packed and Enc'd;
- respond: the re-run guard (E7), then ResGen.

Every other message type passes through. A TRAIN message that is not an MPKSA stage is refused:
a client that installed the mod never sends a plaintext update. Every refusal is a typed error,
sent back as an error reply whose reason starts with the error's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from logging import INFO, WARNING

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Error, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import Code, parameters_to_ndarrays
from flwr.common.constant import ErrorCode
from flwr.common.logger import log
from flwr.compat.common import recorddict_compat as compat

from mpksa.encoding import Encoding
from mpksa.errors import DimensionMismatchError, MalformedInputError, MpksaError, ParameterError
from mpksa.guard import RerunGuard, update_digest
from mpksa.round import Hardening

from . import records as r
from .profiles import StageProfile, stage_profile

IDLE = "idle"


@dataclass
class ClientState:
    """What a client keeps in its context between messages (a ConfigRecord, spec 11.4).

    The key pair outlives rounds; the rest describes the attempt in progress. `answered_digests`
    and `answered_sets` are the re-run guard's memory: one (update digest, S) pair per answered
    challenge, oldest first. Flower keeps a node's context for one run: a new run starts afresh.
    """

    stage: str = IDLE
    server_round: int = 0
    attempt: int = 0
    profile: str = ""
    params: str = ""
    sk: bytes = b""
    pk: bytes = b""
    beta: bytes = b""
    client: int = 0
    online: list[int] = field(default_factory=list)
    segments: int = 0
    digest: bytes = b""
    basis: bytes = b""
    answered_digests: list[bytes] = field(default_factory=list)
    answered_sets: list[bytes] = field(default_factory=list)

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

    `hardening` names the announcements (review C.9) this client demands: with `announce_keys` it
    refuses an upload stage without the keys of S (E5), with `announce_challenge` a respond stage
    without every client's challenge bases (E4). Announcements a server sends are always checked.
    `guard_size` bounds the re-run guard's memory (answered updates remembered, newest kept).
    """

    def __init__(self, *, allow_insecure: bool = False, hardening: Hardening = Hardening(),
                 guard_size: int = 1024) -> None:
        self.allow_insecure = allow_insecure
        self.hardening = hardening
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

    # --- keys: KeyGen once, pk_i up (Alg. 1, line 1) --------------------------------------------

    def keys(self, state: ClientState, config: ConfigRecord) -> RecordDict:
        profile = self._profile(config)
        server_round, attempt = r.read_int(config, "round"), r.read_int(config, "attempt", 1, r.MAX_ATTEMPTS - 1)
        beta = profile.check_element(r.element_of(r.read_bytes(config, "beta"), profile.element_bytes, "beta"), "beta")
        if (state.profile, state.params) != (profile.name, profile.params_name) or not state.sk:
            sk = profile.new_exponent()
            state.sk = sk.to_bytes((sk.bit_length() + 7) // 8, "big")
            state.pk = r.element_bytes(profile.public(sk), profile.element_bytes)
            log(INFO, "MPKSA: new key pair for %s/%s", profile.name, profile.params_name)
        state.stage, state.server_round, state.attempt = r.KEYS, server_round, attempt
        state.profile, state.params = profile.name, profile.params_name
        state.beta = r.element_bytes(beta, profile.element_bytes)
        reply = r.header(r.KEYS, profile.name, profile.params_name, server_round, attempt) | {"pk": state.pk}
        return RecordDict({r.CONFIG: ConfigRecord(reply)})

    def _profile(self, config: ConfigRecord) -> StageProfile:
        profile = stage_profile(r.read_str(config, "profile"), r.read_str(config, "params"))
        if profile.insecure and not self.allow_insecure:
            raise ParameterError(f"parameter set {profile.params_name!r} is insecure; this client refuses it")
        return profile

    # --- upload: check pk_S, DSE, train, Enc (Alg. 1, lines 5 to 11) ----------------------------

    def upload(self, state: ClientState, config: ConfigRecord, msg: Message, ctxt: Context,
               call_next: ClientAppCallable) -> RecordDict | Message:
        profile = self._continue(state, config, r.KEYS, r.UPLOAD)
        client = r.read_int(config, "client", 1, (1 << 32) - 1)
        online = r.read_ids(config, "online")
        if client not in online or len(online) < 2:
            raise MalformedInputError(f"S = {online} must hold at least two clients, this one ({client}) among them")
        width = profile.element_bytes
        pk_i, sk, beta = int.from_bytes(state.pk, "big"), int.from_bytes(state.sk, "big"), int.from_bytes(state.beta, "big")
        pk_s = r.element_of(r.read_bytes(config, "pk-s"), width, "pk_S")
        arrays = r.arrays_of(msg.content, r.UPLOAD)
        keys = self._announced(arrays, "announced-keys", width, len(online), self.hardening.announce_keys)
        profile.check_aggregate_key(pk_s, pk_i, keys)
        enc = profile.encoding(Encoding(r.read_int(config, "frac-bits"), r.read_float(config, "clip"),
                                        r.read_int(config, "weight-max"), r.read_int(config, "max-clients")))
        sealed = r.bytes_of(arrays, "sealed-model")
        model = r.model_of(profile.unseal(beta, sk, sealed, r.aead_round(state.server_round, state.attempt), client))

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
        upload = profile.encrypt(beta, pk_s, packed.segments)
        state.stage, state.client, state.online = r.UPLOAD, client, online
        state.segments = len(packed.segments)
        state.digest = update_digest([int(q) for q in packed.quantized.tolist()], packed.weight)
        state.basis = b"".join(r.element_bytes(x, width) for x in profile.challenge_basis(upload))
        reply = r.header(r.UPLOAD, profile.name, profile.params_name, state.server_round, state.attempt)
        reply["segments"] = state.segments
        return RecordDict({r.CONFIG: ConfigRecord(reply),
                           r.ARRAYS: ArrayRecord({"upload": r.elements_array(upload, width)}),
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
    def _announced(arrays: ArrayRecord, key: str, width: int, count: int, required: bool) -> list[int] | None:
        """An announced list (review C.9), None when the server sent none and this client allows that."""
        if key not in arrays:
            if required:
                raise MalformedInputError(f"the server sent no '{key}', which this client's hardening requires")
            return None
        return r.elements_of(arrays, key, width, count, key)

    # --- respond: the re-run guard, then ResGen (Alg. 1, lines 15 and 16) ------------------------

    def respond(self, state: ClientState, config: ConfigRecord, content: RecordDict) -> RecordDict:
        profile = self._continue(state, config, r.UPLOAD, r.RESPOND)
        online = r.read_ids(config, "online")
        if sorted(online) != sorted(state.online):
            raise MalformedInputError(f"S = {sorted(online)} differs from the S = {sorted(state.online)} of the upload")
        guard = state.guard()
        guard.admit(state.digest, online)  # E7: one S per update
        width, size = profile.element_bytes, profile.challenge_size(state.segments)
        arrays = r.arrays_of(content, r.RESPOND)
        challenge = r.elements_of(arrays, "challenge", width, size, "the challenge")
        bases = self._announced(arrays, "announced-bases", width, size * len(online), self.hardening.announce_challenge)
        if bases is not None:
            own = [int.from_bytes(state.basis[k:k + width], "big") for k in range(0, len(state.basis), width)]
            profile.check_challenge(challenge, [bases[k:k + size] for k in range(0, len(bases), size)], own)
        response = profile.respond(challenge, int.from_bytes(state.sk, "big"))
        state.remember(state.digest, online, self.guard_size)
        state.stage = IDLE
        reply = r.header(r.RESPOND, profile.name, profile.params_name, state.server_round, state.attempt)
        return RecordDict({r.CONFIG: ConfigRecord(reply),
                           r.ARRAYS: ArrayRecord({"response": r.elements_array(response, width)})})


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
