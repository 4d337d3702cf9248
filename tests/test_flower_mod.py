"""The client mod on its own: stage transitions, the state it keeps, and what it refuses (spec 11.4).

A hand-written server drives one node of a LocalGrid message by message, so that each message can
be wrong in exactly one way.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.flower_harness import PARAMS  # sets the Flower environment first

from flwr.app import ArrayRecord, ConfigRecord, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.common import EvaluateIns, FitIns, ndarrays_to_parameters
from flwr.common.constant import ErrorCode
from flwr.compat.common import recorddict_compat as compat

from mpksa.flower import ClientState, MpksaMod, records as r, synthetic
from mpksa.flower.local import LocalGrid
from mpksa.flower.profiles import stage_profile
from mpksa.params import parameter_set
from mpksa.round import Hardening

P = stage_profile("v1", PARAMS)
W = P.element_bytes
N, N2 = parameter_set(PARAMS).n, parameter_set(PARAMS).n2
MODEL = compat.parameters_to_arrayrecord(ndarrays_to_parameters([np.zeros((2, 3)), np.ones(4)]), True)


class HandServer:
    """Builds each stage's message for one node; every field can be overridden."""

    def __init__(self, mod: MpksaMod | None = None) -> None:
        self.grid = LocalGrid(synthetic.client_app([mod or MpksaMod(allow_insecure=True)]), 2, seed=3)
        self.node = self.grid.node_ids[0]
        self.alpha = P.new_exponent()
        self.beta = P.public(self.alpha)
        self.other_pk = P.public(P.new_exponent())

    def send(self, config: dict, arrays: dict | None = None, extra: dict | None = None) -> Message:
        content = RecordDict({r.CONFIG: ConfigRecord(config)} | (extra or {}))
        if arrays is not None:
            content[r.ARRAYS] = ArrayRecord(arrays)
        (reply,) = self.grid.send_and_receive([Message(content, self.node, MessageType.TRAIN, group_id="1")])
        return reply

    def keys(self, server_round: int = 1, attempt: int = 1, **fields: object) -> Message:
        config = r.header(r.KEYS, "v1", PARAMS, server_round, attempt) | {"beta": r.element_bytes(self.beta, W)}
        return self.send(config | fields)

    def pk(self) -> int:
        return int.from_bytes(self.state().pk, "big")

    def upload(self, server_round: int = 1, attempt: int = 1, online: tuple[int, ...] = (1, 2),
               pk_s: int | None = None, sealed: bytes | None = None, fit_attempt: int | None = None,
               keys: list[int] | None = None, **fields: object) -> Message:
        """The model sealed for client 1 of S; pk_S of S from this client's key and another."""
        if pk_s is None:
            pk_s = P.aggregate_key([(1, self.pk())] + [(i, self.other_pk) for i in online if i != 1])
        if sealed is None:
            sealed = P.seal(self.pk(), self.alpha, r.model_bytes(MODEL), r.aead_round(server_round, attempt), 1)
        config = r.header(r.UPLOAD, "v1", PARAMS, server_round, attempt) | {
            "client": 1, "online": list(online), "pk-s": r.element_bytes(pk_s, W), "model-record": "fitins.parameters",
            "frac-bits": 16, "clip": 1.0, "weight-max": 100, "max-clients": 4}
        fit = {"server-round": server_round, "mpksa-attempt": fit_attempt or attempt}
        arrays = {"sealed-model": r.bytes_array(sealed)}
        if keys is not None:
            arrays["announced-keys"] = r.elements_array(keys, W)
        return self.send(config | fields, arrays, {"fitins.config": ConfigRecord(fit)})

    def respond(self, server_round: int = 1, attempt: int = 1, online: tuple[int, ...] = (1, 2),
                challenge: list[int] | None = None, bases: list[int] | None = None) -> Message:
        if challenge is None:
            challenge = [P.public(7)] * self.state().segments
        config = r.header(r.RESPOND, "v1", PARAMS, server_round, attempt) | {"online": list(online)}
        arrays = {"challenge": r.elements_array(challenge, W)}
        if bases is not None:
            arrays["announced-bases"] = r.elements_array(bases, W)
        return self.send(config, arrays)

    def own_bases(self) -> list[int]:
        """This client's g^{r_j2}, as the server would announce them (read from its state here)."""
        basis = self.state().basis
        return [int.from_bytes(basis[k:k + W], "big") for k in range(0, len(basis), W)]

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


HARDENED = MpksaMod(allow_insecure=True, hardening=Hardening(announce_keys=True, announce_challenge=True))


def test_a_hardened_client_checks_the_announced_keys():
    server = HandServer(HARDENED)
    g_x = P.public(12345)
    for keys_of, pk_s_of, code in [
        (lambda pk: None, lambda pk: None, "malformed-input"),                         # none announced
        (lambda pk: [pk, server.other_pk, g_x], lambda pk: None, "dimension-mismatch"),  # |S| + 1 keys
        (lambda pk: [pk, server.other_pk], lambda pk: pk * g_x % N2, "aggregate-key-mismatch"),  # E5: pk_S = pk_i g^x
        (lambda pk: [g_x, server.other_pk], lambda pk: g_x * server.other_pk % N2, "aggregate-key-mismatch"),  # own key left out
        (lambda pk: [pk, pk], lambda pk: pk * pk % N2, "aggregate-key-mismatch"),      # one key twice
    ]:
        server.keys()
        pk = server.pk()
        assert refused(server.upload(keys=keys_of(pk), pk_s=pk_s_of(pk)), code), code
    server.keys()
    assert not server.upload(keys=[server.pk(), server.other_pk]).has_error()


def test_a_hardened_client_checks_the_announced_challenge_bases():
    server = HandServer(HARDENED)
    other = [P.public(P.new_exponent()) for _ in range(64)]

    def upload() -> tuple[list[int], list[int]]:
        server.keys()
        assert not server.upload(keys=[server.pk(), server.other_pk]).has_error()
        own = server.own_bases()
        theirs = other[:len(own)]
        return own, [a * b % N2 for a, b in zip(own, theirs)]

    own, product = upload()
    assert refused(server.respond(challenge=product), "malformed-input")  # no bases announced
    own, product = upload()
    forged = [product[0] * P.public(3) % N2] + product[1:]  # E4: R_0 is not the product
    assert refused(server.respond(challenge=forged, bases=own + other[:len(own)]), "challenge-mismatch")
    own, product = upload()
    stranger = [P.public(5)] * len(own)
    assert refused(server.respond(challenge=product, bases=stranger + other[:len(own)]), "challenge-mismatch")
    own, product = upload()
    reply = server.respond(challenge=product, bases=own + other[:len(own)])
    assert not reply.has_error()
