"""The client mod on its own: stage transitions, the state it keeps, and what it refuses (spec 11.4).

A hand-written server drives one node of a LocalGrid message by message, so that each message can
be wrong in exactly one way.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.flower_harness import PARAMS, PARAMS_V2  # sets the Flower environment first

from flwr.app import ArrayRecord, ConfigRecord, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.common import EvaluateIns, FitIns, ndarrays_to_parameters
from flwr.common.constant import ErrorCode
from flwr.compat.common import recorddict_compat as compat

from mpksa.flower import ClientState, MpksaMod, records as r, synthetic
from mpksa.flower.local import LocalGrid
from mpksa.flower.profiles import StageProfile, stage_profile
from mpksa.messages import Statement
from mpksa.params import parameter_set

P = stage_profile("v1", PARAMS)
W = P.element_bytes
N, N2 = parameter_set(PARAMS).n, parameter_set(PARAMS).n2
MODEL = compat.parameters_to_arrayrecord(ndarrays_to_parameters([np.zeros((2, 3)), np.ones(4)]), True)


class HandServer:
    """Builds each stage's message for one node (client 1 of S = (1, 2)); every field can be
    overridden. Client 2 is simulated here: its key, and with the hardening its proofs."""

    def __init__(self, mod: MpksaMod | None = None, params: str = PARAMS, hardened: bool = False) -> None:
        self.p: StageProfile = stage_profile(parameter_set(params).profile, params)
        self.params, self.hardened = params, hardened
        self.grid = LocalGrid(synthetic.client_app([mod or MpksaMod(allow_insecure=True)]), 2, seed=3)
        self.node = self.grid.node_ids[0]
        self.alpha = self.p.new_exponent()
        self.beta, self.beta_proof = self.p.prove(Statement("server key", index=0), self.alpha)
        self.other_sk = self.p.new_exponent(even=True)
        self.other_pk, self.other_proof = self.p.prove(Statement("key", client_id=2), self.other_sk)
        self.last_upload_proofs: list = []

    def header(self, stage: str, server_round: int, attempt: int) -> dict:
        return r.header(stage, self.p.name, self.params, server_round, attempt)

    def send(self, config: dict, arrays: dict | None = None, extra: dict | None = None) -> Message:
        content = RecordDict({r.CONFIG: ConfigRecord(config)} | (extra or {}))
        if arrays is not None:
            content[r.ARRAYS] = ArrayRecord(arrays)
        (reply,) = self.grid.send_and_receive([Message(content, self.node, MessageType.TRAIN, group_id="1")])
        return reply

    def keys(self, server_round: int = 1, attempt: int = 1, **fields: object) -> Message:
        config = self.header(r.KEYS, server_round, attempt) | {
            "beta": r.element_bytes(self.beta, W), "hardened": self.hardened, "client": 1}
        if self.hardened:
            config["beta-proof"] = r.proof_bytes(self.beta_proof, self.p.proof_bytes)
        return self.send(config | fields)

    def pk(self) -> int:
        return int.from_bytes(self.state().pk, "big")

    def key_proof(self):  # type: ignore[no-untyped-def]
        return r.proof_of(self.state().key_proof, self.p.proof_bytes, "pk")

    def upload(self, server_round: int = 1, attempt: int = 1, online: tuple[int, ...] = (1, 2),
               pk_s: int | None = None, sealed: bytes | None = None, fit_attempt: int | None = None,
               keys: list[int] | None = None, key_proofs: list | None = None, **fields: object) -> Message:
        """The model sealed for client 1 of S; pk_S of S from this client's key and client 2's.
        Hardened, the keys of S are announced with their proofs (`keys`, `key_proofs` override)."""
        if pk_s is None:
            pk_s = self.p.aggregate_key([(1, self.pk())] + [(i, self.other_pk) for i in online if i != 1])
        if sealed is None:
            sealed = self.p.seal(self.pk(), self.alpha, r.model_bytes(MODEL), r.aead_round(server_round, attempt), 1)
        config = self.header(r.UPLOAD, server_round, attempt) | {
            "client": 1, "online": list(online), "pk-s": r.element_bytes(pk_s, W), "model-record": "fitins.parameters",
            "frac-bits": 16, "clip": 1.0, "weight-max": 100, "max-clients": 4}
        fit = {"server-round": server_round, "mpksa-attempt": fit_attempt or attempt}
        arrays = {"sealed-model": r.bytes_array(sealed)}
        if self.hardened and keys is None:
            keys = [self.pk(), self.other_pk]
        if keys is not None:
            arrays["announced-keys"] = r.elements_array(keys, W)
        if self.hardened and key_proofs is None:
            key_proofs = [self.key_proof(), self.other_proof]
        if key_proofs is not None:
            arrays["announced-key-proofs"] = r.proofs_array(key_proofs, self.p.proof_bytes)
        reply = self.send(config | fields, arrays, {"fitins.config": ConfigRecord(fit)})
        if self.hardened and not reply.has_error():
            size = self.p.challenge_size(self.state().segments)
            self.last_upload_proofs = r.proofs_of(reply.content.array_records[r.ARRAYS], "upload-proofs",
                                                  self.p.proof_bytes, size, "upload-proofs")
        return reply

    def other_bases(self, server_round: int = 1, attempt: int = 1) -> tuple[list[int], list]:
        """Client 2's g^{r_j2} with their proofs for S = (1, 2)."""
        size = self.p.challenge_size(self.state().segments)
        values, proofs = [], []
        for j in range(size):
            statement = Statement("g^r2", 2, j, r.aead_round(server_round, attempt), (1, 2))
            y, proof = self.p.prove(statement, self.p.new_exponent())
            values.append(y)
            proofs.append(proof)
        return values, proofs

    def respond(self, server_round: int = 1, attempt: int = 1, online: tuple[int, ...] = (1, 2),
                challenge: list[int] | None = None, bases: list[int] | None = None,
                base_proofs: list | None = None) -> Message:
        """Hardened, the bases are announced with their proofs: this client's own (from its upload)
        and client 2's, the challenge their product; `bases` and `base_proofs` override."""
        if self.hardened and bases is None:
            theirs, their_proofs = self.other_bases(server_round, attempt)
            bases, base_proofs = self.own_bases() + theirs, self.own_proofs() + their_proofs
            if challenge is None:
                challenge = [a * b % N2 for a, b in zip(self.own_bases(), theirs)]
        if challenge is None:
            challenge = [self.p.public(7)] * self.p.challenge_size(self.state().segments)
        config = self.header(r.RESPOND, server_round, attempt) | {"online": list(online)}
        arrays = {"challenge": r.elements_array(challenge, W)}
        if bases is not None:
            arrays["announced-bases"] = r.elements_array(bases, W)
        if base_proofs is not None:
            arrays["announced-base-proofs"] = r.proofs_array(base_proofs, self.p.proof_bytes)
        return self.send(config, arrays)

    def own_bases(self) -> list[int]:
        """This client's g^{r_j2}, as the server would announce them (read from its state here)."""
        basis = self.state().basis
        return [int.from_bytes(basis[k:k + W], "big") for k in range(0, len(basis), W)]

    def own_proofs(self) -> list:
        """What this client sent with its last upload."""
        return self.last_upload_proofs

    def state(self) -> ClientState:
        return ClientState.load(self.grid.context(self.node))


def refused(reply: Message, code: str) -> bool:
    """An error reply from the mod whose reason starts with the typed error's code."""
    return (reply.has_error() and reply.error.code == ErrorCode.MOD_FAILED_PRECONDITION
            and (reply.error.reason or "").startswith(code + ": "))


def test_one_attempt_walks_the_stages_and_the_key_outlives_the_round():
    server = HandServer()
    reply = server.keys()
    assert not reply.has_error() and server.state().stage == r.KEYS
    pk = int.from_bytes(reply.content.config_records[r.CONFIG]["pk"], "big")
    sk = int.from_bytes(server.state().sk, "big")
    assert pk == server.pk() == pow(parameter_set(PARAMS).g, sk, N2)

    reply = server.upload()
    assert not reply.has_error()
    state = server.state()
    assert (state.stage, state.client, state.online) == (r.UPLOAD, 1, [1, 2])
    assert len(reply.content.array_records[r.ARRAYS]["upload"].data) == P.upload_size(state.segments) * W
    assert reply.content.config_records["fitres.metrics"]["node"] == float(server.node % 1000)

    base = P.public(5)
    reply = server.respond(challenge=[base] * state.segments)
    response = r.elements_of(reply.content.array_records[r.ARRAYS], "response", W, state.segments, "response")
    assert response == [pow(base, sk, N2)] * state.segments  # T_j = R_j^{sk_i}
    assert server.state().stage == "idle" and len(server.state().answered_digests) == 1

    reply = server.keys(server_round=2)
    assert int.from_bytes(reply.content.config_records[r.CONFIG]["pk"], "big") == pk


def test_messages_out_of_stage_order_are_refused():
    server = HandServer()
    assert refused(server.upload(pk_s=P.public(3), sealed=bytes(40)), "stage-out-of-order")  # no keys stage yet
    server.keys()
    assert refused(server.respond(challenge=[P.public(3)]), "stage-out-of-order")  # no upload yet
    server.keys()
    assert refused(server.upload(attempt=2), "stage-out-of-order")  # the keys stage was attempt 1's
    server.keys()
    assert refused(server.send(r.header("unmask", "v1", PARAMS, 1, 1)), "stage-out-of-order")
    # A refusal ends the attempt for this client: a later upload needs a new keys stage.
    assert server.state().stage == "idle"
    assert refused(server.upload(), "stage-out-of-order")


def test_a_train_message_without_a_stage_is_refused_and_evaluation_passes_through():
    server = HandServer()
    content = compat.fitins_to_recorddict(FitIns(ndarrays_to_parameters([np.zeros(3)]), {}), True)
    (reply,) = server.grid.send_and_receive([Message(content, server.node, MessageType.TRAIN, group_id="1")])
    assert refused(reply, "stage-out-of-order")
    content = compat.evaluateins_to_recorddict(EvaluateIns(ndarrays_to_parameters([np.zeros(3)]), {}), True)
    (reply,) = server.grid.send_and_receive([Message(content, server.node, MessageType.EVALUATE, group_id="1")])
    assert not reply.has_error()


@pytest.mark.parametrize("profile, params", [("v1", PARAMS), ("v2", "v1-rsa2048-short"), ("v1", "paper-512"),
                                             ("v1", "no-such-set")])
def test_a_client_refuses_insecure_unknown_or_unsupported_parameters(profile, params):
    server = HandServer(MpksaMod())  # the default: insecure parameter sets refused
    config = r.header(r.KEYS, profile, params, 1, 1) | {"beta": r.element_bytes(server.beta, W)}
    assert refused(server.send(config), "invalid-parameters")


@pytest.mark.parametrize("beta, code", [(0, "element-out-of-range"), (3 * N, "non-unit"),
                                        (b"\x01", "malformed-input")])
def test_a_bad_server_key_is_refused(beta, code):
    server = HandServer()
    assert refused(server.keys(beta=beta if isinstance(beta, bytes) else r.element_bytes(beta, W)), code)


@pytest.mark.parametrize("over, code", [
    ({"online": (1,), "pk_s": "own"}, "malformed-input"),  # |S| = 1
    ({"online": (2, 3)}, "malformed-input"),               # S without this client
    ({"pk_s": "own"}, "single-client-abort"),              # pk_S = pk_i: alone in S (Sec. 3.2)
    ({"sealed": bytes(40)}, "aead-failure"),               # a model not sealed for this client
    ({"frac-bits": "16"}, "malformed-input"),              # a field of the wrong type
    ({"weight-max": 10}, "value-out-of-range"),            # |D_i| above weight_max (Eq. (1))
])
def test_bad_upload_instructions_are_refused(over, code):
    server = HandServer()
    server.keys()
    if over.get("pk_s") == "own":
        over = over | {"pk_s": server.pk()}
    assert refused(server.upload(**over), code)


@pytest.mark.parametrize("extra, online, code", [
    (1, (1, 2), "dimension-mismatch"),         # one element too many
    (0, (1, 2), "non-unit"),                   # elements sharing a factor of n
    (0, (1, 3), "malformed-input"),            # another S than the upload's
])
def test_bad_challenges_are_refused(extra, online, code):
    server = HandServer()
    server.keys()
    server.upload()
    u = server.state().segments
    element = 3 * N if code == "non-unit" else P.public(3)
    assert refused(server.respond(online=online, challenge=[element] * (u + extra)), code)


def test_the_guard_refuses_the_same_update_for_another_set():
    server = HandServer()
    server.keys()
    server.upload(online=(1, 2))
    assert not server.respond(online=(1, 2)).has_error()
    # Attempt 2 brings the same update (the ClientApp is told attempt 1 again) for another S: refused.
    server.keys(attempt=2)
    assert not server.upload(attempt=2, online=(1, 3), fit_attempt=1).has_error()
    assert refused(server.respond(attempt=2, online=(1, 3)), "rerun-refused")
    # The same S again leaks nothing new: answered.
    server.keys(attempt=3)
    server.upload(attempt=3, online=(1, 2), fit_attempt=1)
    assert not server.respond(attempt=3, online=(1, 2)).has_error()
    # A fresh update may go to any S.
    server.keys(attempt=4)
    server.upload(attempt=4, online=(1, 3), fit_attempt=4)
    assert not server.respond(attempt=4, online=(1, 3)).has_error()
    assert len(server.state().answered_digests) == 2


# --- profile v2 -----------------------------------------------------------------------------------

def test_a_v2_attempt_uploads_the_carrier_and_the_segments_and_answers_one_challenge():
    server = HandServer(params=PARAMS_V2)
    p = server.p
    assert not server.keys().has_error()
    reply = server.upload()
    assert not reply.has_error()
    u = server.state().segments
    assert len(reply.content.array_records[r.ARRAYS]["upload"].data) == (u + 3) * W  # carrier triple, C_1..C_u
    assert len(server.state().mask_digests) == 1
    base = p.public(5)
    reply = server.respond(challenge=[base])
    sk = int.from_bytes(server.state().sk, "big")
    assert r.elements_of(reply.content.array_records[r.ARRAYS], "response", W, 1, "response") == [pow(base, sk, N2)]


@pytest.mark.parametrize("challenge, code", [
    (lambda p: [p.public(3)] * 2, "dimension-mismatch"),  # v2 answers the carrier's challenge only
    (lambda p: [1 + N], "degenerate-element"),           # R = 1 + n would give sk_i away (spec 10.5)
    (lambda p: [N2 - 1], "degenerate-element"),          # -1
])
def test_a_v2_client_refuses_a_second_or_a_degenerate_challenge(challenge, code):
    server = HandServer(params=PARAMS_V2)
    server.keys()
    server.upload()
    assert refused(server.respond(challenge=challenge(server.p)), code)


def test_a_v2_client_refuses_a_degenerate_server_key_without_the_hardening():
    server = HandServer(params=PARAMS_V2)
    assert refused(server.keys(beta=r.element_bytes(1 + 5 * N, W)), "degenerate-element")


class StuckGenerator:
    """A broken random source: the same values every time it is asked."""

    def randrange(self, low: int, high: int) -> int:
        return low + (high - low) // 3

    def token_bytes(self, n: int) -> bytes:
        return bytes(n)


def test_a_v2_client_never_uploads_under_a_used_mask_exponent():
    server = HandServer(mod=MpksaMod(allow_insecure=True, rng=StuckGenerator()), params=PARAMS_V2)
    for attempt in (1, 2):  # Enc draws the same r_i twice
        server.keys(attempt=attempt)
        reply = server.upload(attempt=attempt, fit_attempt=attempt)
    assert refused(reply, "exponent-reused")


# --- the hardening: a server that sends a bad key, announcement or challenge is refused ----------

HARDENED = MpksaMod(allow_insecure=True, hardened=True)


def hardened_server(params: str = PARAMS) -> HandServer:
    return HandServer(HARDENED, params, hardened=True)


@pytest.mark.parametrize("params", [PARAMS, PARAMS_V2])
def test_a_hardened_attempt_proves_its_key_and_its_bases_and_answers(params):
    server = hardened_server(params)
    reply = server.keys()
    assert not reply.has_error()
    config = reply.content.config_records[r.CONFIG]
    pk, proof = int.from_bytes(config["pk"], "big"), r.proof_of(config["pk-proof"], server.p.proof_bytes, "pk")
    assert int.from_bytes(server.state().sk, "big") % 2 == 0  # the hardened KeyGen's even sk_i
    server.p.check_proof(Statement("key", client_id=1), pk, proof, "pk")
    assert not server.upload().has_error()
    for j, (y, proof) in enumerate(zip(server.own_bases(), server.own_proofs())):
        server.p.check_proof(Statement("g^r2", 1, j, r.aead_round(1, 1), (1, 2)), y, proof, "g^r2")
    reply = server.respond()
    assert not reply.has_error(), reply.error.reason if reply.has_error() else ""


def test_a_hardened_client_refuses_a_server_without_the_hardening():
    server = HandServer(HARDENED)  # the server does not run the hardening
    assert refused(server.keys(), "malformed-input")


@pytest.mark.parametrize("change, code", [
    (lambda s: {"beta": r.element_bytes(1 + N, W)}, "degenerate-element"),         # E8: beta in <1 + n>
    (lambda s: {"beta": r.element_bytes(N2 - s.beta, W)}, "proof-invalid"),        # -beta, with beta's proof
    (lambda s: {"beta-proof": r.proof_bytes(s.other_proof, s.p.proof_bytes)}, "proof-invalid"),  # another proof
    (lambda s: {"beta-proof": b"\x01"}, "malformed-input"),                        # a proof of the wrong length
])
def test_a_hardened_client_refuses_a_bad_server_key(change, code):
    server = hardened_server()
    assert refused(server.keys(**change(server)), code)


def test_a_client_refuses_a_new_client_id_for_its_registered_key():
    server = hardened_server()
    server.keys()
    assert refused(server.keys(client=2), "malformed-input")


@pytest.mark.parametrize("params", [PARAMS, PARAMS_V2])
@pytest.mark.parametrize("forge, code", [
    ("pk_S times g^x", "aggregate-key-mismatch"),     # E5: a forged pk_S, the announced keys honest
    ("pk_S degenerate", "degenerate-element"),        # E8
    ("own key replaced", "aggregate-key-mismatch"),   # this client's key missing from S
    ("rogue key", "proof-invalid"),                   # E9: pk_2 = g^x / pk_1, no proof of log_g
    ("proof for another id", "proof-invalid"),        # pk_2's proof bound to client 3
    ("no announced keys", "malformed-input"),
    ("one proof short", "dimension-mismatch"),
])
def test_a_hardened_client_refuses_a_bad_aggregate_key_or_announcement(params, forge, code):
    server = hardened_server(params)
    server.keys()
    p, pk, g_x = server.p, server.pk(), server.p.public(12345)
    honest = p.aggregate_key([(1, pk), (2, server.other_pk)])
    proofs = [server.key_proof(), server.other_proof]
    wrong_id = p.prove(Statement("key", client_id=3), server.other_sk)[1]
    rogue = g_x * pow(pk, -1, N2) % N2
    uploads = {
        "pk_S times g^x": dict(pk_s=honest * g_x % N2),
        "pk_S degenerate": dict(pk_s=1 + N),
        "own key replaced": dict(keys=[g_x, server.other_pk], pk_s=g_x * server.other_pk % N2),
        "rogue key": dict(keys=[pk, rogue], pk_s=g_x),
        "proof for another id": dict(key_proofs=[proofs[0], wrong_id]),
        "no announced keys": dict(keys=[], key_proofs=[]),
        "one proof short": dict(key_proofs=proofs[:1]),
    }
    kwargs = uploads[forge]
    if forge == "no announced keys":
        server.hardened = False  # build the message without the announcements; the client still is hardened
        reply = server.upload()
    else:
        reply = server.upload(**kwargs)
    assert refused(reply, code), reply.error.reason if reply.has_error() else "accepted"


@pytest.mark.parametrize("params", [PARAMS, PARAMS_V2])
@pytest.mark.parametrize("forge, code", [
    ("R degenerate", "degenerate-element"),      # E8: R_0 = 1 + n, which would give sk_i away
    ("R times g^y", "challenge-mismatch"),       # E4: R is not the product of the announced bases
    ("junk announced", "proof-invalid"),         # E8/E9: (1 + n) g^y announced for client 2, no proof
    ("replayed proofs", "proof-invalid"),        # client 2's proofs of another attempt
    ("own basis replaced", "proof-invalid"),     # its place holds values it cannot have proven
    ("no proofs", "malformed-input"),
])
def test_a_hardened_client_refuses_a_bad_challenge(params, forge, code):
    server = hardened_server(params)
    server.keys()
    assert not server.upload().has_error()
    own = server.own_bases()
    theirs, their_proofs = server.other_bases()
    product = [a * b % N2 for a, b in zip(own, theirs)]
    old, old_proofs = server.other_bases(attempt=2)
    junk = [(1 + N) * server.p.public(99) % N2 for _ in own]
    cases = {
        "R degenerate": dict(challenge=[1 + N] + product[1:], bases=own + theirs, base_proofs=server.own_proofs() + their_proofs),
        "R times g^y": dict(challenge=[product[0] * server.p.public(3) % N2] + product[1:], bases=own + theirs,
                            base_proofs=server.own_proofs() + their_proofs),
        "junk announced": dict(challenge=[a * b % N2 for a, b in zip(own, junk)], bases=own + junk,
                               base_proofs=server.own_proofs() + their_proofs),
        "replayed proofs": dict(challenge=[a * b % N2 for a, b in zip(own, old)], bases=own + old,
                                base_proofs=server.own_proofs() + old_proofs),
        "own basis replaced": dict(challenge=[a * a % N2 for a in theirs], bases=theirs + theirs,
                                  base_proofs=their_proofs + their_proofs),
        "no proofs": dict(challenge=product, bases=own + theirs),
    }
    reply = server.respond(**cases[forge])
    assert refused(reply, code), reply.error.reason if reply.has_error() else "accepted"
