"""`mpksa conformance interop`: whole rounds between a server and client implementations, live.

The runner plays the network of Algorithm 1: it carries every message from
one implementation to the other, draws all randomness itself with `secrets`
(sent as explicit inputs, the wire contract has no hidden randomness), and
checks the end-to-end property the scheme exists for: the decrypted aggregate
equals the plaintext sum sum_i w_i*q_i, computed by the runner directly from
the values it chose. No vectors are involved.

Rounds cycle through three kinds:
- full: every registered client is in S;
- dropout: some clients drop out before S is fixed (Theorem 4), |S| >= 2 remain;
- single: |S| = 1. The round must abort: the server refuses S (`v1`:
  too-few-clients) or returns pk_S = pk_i (`paper`), and the client's CheckPkS
  answers single-client-abort (Sec. 3.2). An abort is this round's pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mpksa.encoding import Encoding
from mpksa.wire.codec import Codec, Json
from mpksa.wire.contract import CLIENT_OPERATIONS, SERVER_OPERATIONS, encoding_to_json, params_to_json
from mpksa.params import Params, parameter_set
from mpksa.randomness import SYSTEM_RANDOM, RandomSource
from mpksa.wire import untrusted

from .adapters import Session
from .protocol import Answer, ImplementationFault

ROUND_KINDS = ("full", "dropout", "single")
MODEL_BYTES = 32
NONCE_BYTES = 12


class RoundFailure(Exception):
    """This round did not end as it must; the message says who answered what."""


@dataclass
class RoundOutcome:
    number: int
    kind: str
    online: list[int]
    dropped: list[int]
    passed: bool
    detail: str
    seconds: float = 0.0


@dataclass
class InteropReport:
    server: str
    clients: list[str]
    parameter_set: str
    num_clients: int
    dim: int
    rounds: list[RoundOutcome] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and bool(self.rounds) and all(r.passed for r in self.rounds)

    def as_json(self) -> Json:
        """The rounds; text the implementations control is escaped and bounded (mpksa.vectors.untrusted)."""
        return {"server": untrusted.text(self.server), "clients": [untrusted.text(c) for c in self.clients],
                "parameterSet": self.parameter_set, "numClients": self.num_clients, "dim": self.dim,
                "problem": None if self.problem is None else untrusted.text(self.problem), "ok": self.ok,
                "rounds": [{"round": r.number, "kind": r.kind, "online": r.online, "dropped": r.dropped,
                            "verdict": "pass" if r.passed else "fail", "detail": untrusted.text(r.detail),
                            "seconds": round(r.seconds, 6)} for r in self.rounds]}


class Peer:
    """One party of the round and the implementation that plays it."""

    def __init__(self, session: Session, role: str, context: Json) -> None:
        self.session = session
        self.role = role
        self.context = context
        self.broken = False

    def _ask(self, op: str, inputs: Json) -> Answer:
        if self.broken:
            self.session.restart()  # a fault earlier: fresh process before the next message
            self.broken = False
        self.session.submit({"op": op, **self.context, "inputs": inputs})
        try:
            return self.session.receive()[1]
        except ImplementationFault as fault:
            self.broken = True
            raise RoundFailure(f"{self.role} ({self.session.label}) {op}: {fault}") from None

    def call(self, op: str, inputs: Json) -> Json:
        answer = self._ask(op, inputs)
        if answer.error is not None:
            raise RoundFailure(f"{self.role} ({self.session.label}) {op}: error [{answer.code}] "
                               f"{answer.error.get('message', '')}")
        assert answer.outputs is not None
        return answer.outputs

    def refuse(self, op: str, inputs: Json, code: str) -> None:
        """The step must fail with `code`."""
        answer = self._ask(op, inputs)
        if answer.code != code:
            got = "outputs" if answer.error is None else f"error [{answer.code}]"
            raise RoundFailure(f"{self.role} ({self.session.label}) {op}: expected error {code}, got {got}")


def _field(outputs: Json, name: str, who: str) -> Any:
    if name not in outputs:
        raise RoundFailure(f"{who}: outputs lack {name!r}")
    return outputs[name]


class Interop:
    """State shared by the rounds: parameters, encoding, server key, client key pairs."""

    def __init__(self, server: Session, clients: Sequence[Session], params: Params, num_clients: int, dim: int,
                 rng: RandomSource) -> None:
        self.params = params
        self.codec = Codec(params)
        # weight_max > 1 so the weights of Eq. (1) are exercised too.
        self.encoding = Encoding(max_clients=num_clients, weight_max=8)
        context = {"profile": params.profile, "params": params_to_json(params),
                   "encoding": encoding_to_json(self.encoding)}
        self.server = Peer(server, "server", context)
        self.clients = [Peer(clients[i % len(clients)], f"client {i}", context) for i in range(num_clients)]
        self.num_clients = num_clients
        self.dim = dim
        self.rng = rng
        self.alphas: list[str] = []
        self.betas: list[str] = []
        self.sks: list[str] = []
        self.pks: list[str] = []

    # -- randomness, drawn here and sent explicitly -------------------------------------------

    def exponent(self) -> str:
        return str(self.codec.exponent(self.rng.randrange(1, self.params.exponent_bound)))

    def segment_count(self) -> int:
        """u = ceil((d + 1) / k): d weighted values plus the weight (Eq. (1), Sec. 3.4)."""
        k = int(self.encoding.slots_per_segment(self.params.modulus_bits))
        return -(-(self.dim + 1) // k)

    # -- system initialization (Algorithm 1) ---------------------------------------------------

    def setup(self) -> None:
        count = self.segment_count() if self.params.profile == "paper" else 1
        self.alphas = [self.exponent() for _ in range(count)]
        self.betas = _field(self.server.call("SysGen", {"alphas": self.alphas}), "betas", "server SysGen")
        if not isinstance(self.betas, list) or len(self.betas) != count:
            raise RoundFailure(f"server SysGen: expected {count} betas, got {self.betas!r:.80}")
        self.sks = [self.exponent() for _ in self.clients]
        self.pks = [_field(c.call("KeyGen", {"sk": sk}), "pk", f"{c.role} KeyGen") for c, sk in zip(self.clients, self.sks)]

    # -- one round ------------------------------------------------------------------------------

    def online_set(self, kind: str) -> list[int]:
        everyone = list(range(self.num_clients))
        if kind == "full":
            return everyone
        if kind == "single":
            return [everyone[self.rng.randrange(0, len(everyone))]]
        keep = self.rng.randrange(2, max(3, self.num_clients))  # at least 2, at least one drops where possible
        shuffled = sorted(everyone, key=lambda _: self.rng.randrange(0, 2**32))
        return sorted(shuffled[:keep])

    def single_client_round(self, online: list[int]) -> str:
        (i,) = online
        keys = [{"id": i, "pk": self.pks[i]}]
        if self.params.profile != "paper":
            self.server.refuse("AggPKGen", {"public_keys": keys}, "too-few-clients")
            server_says = "server refused |S| = 1 (too-few-clients)"
        else:
            pk_s = _field(self.server.call("AggPKGen", {"public_keys": keys}), "pk_s", "server AggPKGen")
            if pk_s != self.pks[i]:
                raise RoundFailure("server AggPKGen: with |S| = 1, pk_S must equal pk_i")
            server_says = "server returned pk_S = pk_i"
        self.clients[i].refuse("CheckPkS", {"pk_s": self.pks[i], "pk_i": self.pks[i]}, "single-client-abort")
        return f"aborted as expected: {server_says}; client {i} answered single-client-abort"

    def round(self, number: int, online: list[int]) -> str:
        """Lines 3 to 17 of Algorithm 1, every message through the runner; the sum checked at the end."""
        server, clients, rng = self.server, self.clients, self.rng
        pk_s = _field(server.call("AggPKGen", {"public_keys": [{"id": i, "pk": self.pks[i]} for i in online]}),
                      "pk_s", "server AggPKGen")
        announced = [self.pks[i] for i in online]
        model = rng.token_bytes(MODEL_BYTES).hex()
        expected_sums, expected_weight, ciphertexts, own_g_r2 = [0] * self.dim, 0, [], []
        for i in online:
            client = clients[i]
            client.call("CheckPkS", {"pk_s": pk_s, "pk_i": self.pks[i], "announced": announced})
            sealed = _field(server.call("SE", {"pk_i": self.pks[i], "alpha": self.alphas[0], "model": model,
                                               "round": number, "client_id": i,
                                               "nonce": rng.token_bytes(NONCE_BYTES).hex()}), "sealed", "server SE")
            got_model = _field(client.call("DSE", {"beta": self.betas[0], "sk": self.sks[i], "sealed": sealed,
                                                   "round": number, "client_id": i}), "model", f"{client.role} DSE")
            if got_model != model:
                raise RoundFailure(f"{client.role} DSE: the model differs from the one the server sealed")
            quantized, weight = self.update(client)
            expected_sums = [s + weight * q for s, q in zip(expected_sums, quantized)]
            expected_weight += weight
            segments = _field(client.call("Encode", {"quantized": quantized, "weight": weight}), "segments",
                              f"{client.role} Encode")
            draws = len(segments) if self.params.profile == "v1" else 1  # paper: one pair; v2: the carrier's
            randomness = {"r1": [self.exponent() for _ in range(draws)], "r2": [self.exponent() for _ in range(draws)]}
            if self.params.profile == "v2":  # the mask exponent r_i, fresh for every client and round
                randomness["r"] = self.codec.mask(rng.randrange(1, self.params.mask_bound))
            ciphertext = _field(client.call("Enc", {"betas": self.betas, "pk_s": pk_s, "segments": segments,
                                                    **randomness}), "ciphertext", f"{client.role} Enc")
            ciphertexts.append(ciphertext)
            own_g_r2.append([pair[0] for pair in ciphertext["e2"]])
        challenge = _field(server.call("ChelGen", {"ciphertexts": ciphertexts}), "challenge", "server ChelGen")
        responses = []
        for i, own in zip(online, own_g_r2):
            clients[i].call("CheckChallenge", {"challenge": challenge, "announced": own_g_r2, "own": own})
            responses.append(_field(clients[i].call("ResGen", {"challenge": challenge, "sk": self.sks[i]}),
                                    "response", f"client {i} ResGen"))
        aggregate = server.call("Agg", {"ciphertexts": ciphertexts, "responses": responses})
        size = {"clients": len(online)} if self.params.profile == "v2" else {}
        sums = _field(server.call("Dec", {"alphas": self.alphas, **aggregate, **size}), "sums", "server Dec")
        decoded = server.call("Decode", {"sums": sums, "clients": len(online), "dim": self.dim})
        got = (_field(decoded, "weighted_sums", "server Decode"), _field(decoded, "weight_sum", "server Decode"))
        if got != (expected_sums, expected_weight):
            note = " (profile paper: wrong decryption, finding E1, and no signed values, E6)" if self.params.profile == "paper" else ""
            raise RoundFailure(f"decrypted aggregate differs from the plaintext sum{note}: "
                               f"weight sum {got[1]!r} vs {expected_weight}, first sums {got[0][:3]!r} vs "
                               f"{expected_sums[:3]!r}")
        return f"decrypted sum equals plaintext sum over {self.dim} values, weight sum {expected_weight}"

    def update(self, client: Peer) -> tuple[list[int], int]:
        """A random update on the quantization grid, so Quantize must return exactly q (no rounding)."""
        q_max = self.encoding.q_max
        quantized = [self.rng.randrange(-q_max, q_max + 1) for _ in range(self.dim)]
        values = [math.ldexp(q, -self.encoding.frac_bits) for q in quantized]
        got = _field(client.call("Quantize", {"values": values}), "quantized", f"{client.role} Quantize")
        if got != quantized:
            raise RoundFailure(f"{client.role} Quantize: values on the 2^-f grid must quantize exactly")
        return quantized, self.rng.randrange(1, self.encoding.weight_max + 1)


def _missing(session: Session, profile: str, parameter_set_name: str, operations: Sequence[str]) -> str | None:
    missing = session.capabilities.missing(profile, parameter_set_name, list(operations))
    return None if missing is None else f"{session.label}: {missing}"


def run_interop(server: Session, clients: Sequence[Session], parameter_set_name: str = "v1-test-512",
                rounds: int = 3, num_clients: int = 5, dim: int = 100,
                rng: RandomSource = SYSTEM_RANDOM) -> InteropReport:
    """Set up once, then `rounds` rounds cycling through full / dropout / single."""
    params = parameter_set(parameter_set_name)
    report = InteropReport(server.label, [c.label for c in clients], parameter_set_name, num_clients, dim)
    sessions = [server, *clients]
    try:
        for s in dict.fromkeys(sessions):  # a session shared by several roles starts once
            s.start()
        problem = _missing(server, params.profile, parameter_set_name, SERVER_OPERATIONS) or next(
            (m for c in clients if (m := _missing(c, params.profile, parameter_set_name, CLIENT_OPERATIONS))), None)
        if problem:
            report.problem = f"cannot play its role: {problem}"
            return report
        interop = Interop(server, clients, params, num_clients, dim, rng)
        try:
            interop.setup()
        except RoundFailure as exc:
            report.problem = f"setup failed: {exc}"
            return report
        everyone = set(range(num_clients))
        for number in range(rounds):
            kind = ROUND_KINDS[number % len(ROUND_KINDS)]
            online = interop.online_set(kind)
            started = time.monotonic()
            try:
                detail = interop.single_client_round(online) if kind == "single" else interop.round(number, online)
                passed = True
            except (RoundFailure, ImplementationFault) as exc:
                detail, passed = str(exc), False
            report.rounds.append(RoundOutcome(number, kind, online, sorted(everyone - set(online)), passed, detail,
                                              time.monotonic() - started))
    except ImplementationFault as fault:
        report.problem = f"handshake failed: {fault}"
    finally:
        for s in dict.fromkeys(sessions):
            s.close()
    return report
