"""The server side: a fit workflow that runs Algorithm 1 over Flower's Grid (spec 11.5).

Used like `flwr.server.workflow.SecAggPlusWorkflow`, inside a `ServerApp` main function:

    DefaultWorkflow(fit_workflow=MpksaWorkflow())(grid, LegacyContext(context, config, strategy))

One fit round is up to `max_attempts` attempts, each three round trips of TRAIN messages:

1. keys: beta and the client id down, pk_i up; who answers in time and well forms S (dropouts
   before S is fixed are simply left out, Theorem 4); fewer than `min_clients` and the round is
   skipped;
2. upload: AggPKGen, then pk_S and the model sealed for each client (SE) down; the wrapped
   ClientApp trains; the encrypted update up;
3. respond: ChelGen, the challenge down, ResGen's response up;

then Agg, Dec and the decoding on the server, and the strategy's `aggregate_fit` on the weighted
average (Eq. (1)). A client of S that fails after S is fixed (no reply in time, an error reply,
or a reply that fails a check) aborts the attempt (finding E7); the round is re-run with fresh
randomness and without the clients that failed, and skipped, model kept, after `max_attempts`.

With `hardened=True` (spec 5.13, 5.14) beta goes with a proof of knowledge of alpha, each pk_i
comes with a proof of knowledge of sk_i (checked here, then announced with the keys of S), and each
upload with proofs of knowledge of its r_j2 (checked here, then announced with the challenge);
a client whose proof fails is treated as dropped at that stage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from logging import INFO, WARNING
from typing import cast

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.common import (
    Code,
    FitRes,
    Parameters,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.common.constant import ErrorCode
from flwr.common.logger import log
from flwr.compat.common import recorddict_compat as compat
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key
from flwr.serverapp import Grid
from mpksa.encoding import Encoding
from mpksa.errors import (
    DimensionMismatchError,
    MalformedInputError,
    MpksaError,
    ParameterError,
)
from mpksa.messages import Proof, Statement
from mpksa.params import parameter_set
from mpksa.randomness import SYSTEM_RANDOM, RandomSource

from . import records as r
from .profiles import StageProfile, stage_profile

TIMEOUT = "timeout"  # the failure code of a client that did not answer in time
ATTEMPT_KEY = "mpksa-attempt"  # added to the fit config: the attempt number, 1, 2, ...
CLIENT_ERROR = "client-error"  # ... of an error reply that names no MPKSA error code (the ClientApp raised)
ERROR_CODE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Failure:
    """A client that left the round, where, and why (a typed error code, or `timeout`)."""

    node_id: int
    stage: str
    code: str
    message: str


@dataclass
class Attempt:
    """One attempt of a round: who was asked, who formed S, who failed, what was decrypted."""

    number: int
    asked: list[int]
    online: list[int] = field(default_factory=list)
    keys: dict[int, int] = field(default_factory=dict)  # pk_i of each node of S
    failures: list[Failure] = field(default_factory=list)
    outcome: str = "aborted"  # "decrypted", "aborted" or "too-few-clients"
    weighted_sums: np.ndarray | None = None
    weight_sum: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class RoundRecord:
    """One fit round: "aggregated" (the model moved by the decrypted average) or "skipped"."""

    server_round: int
    sampled: list[int]
    start: list[np.ndarray]  # the global model the round started from
    attempts: list[Attempt] = field(default_factory=list)
    outcome: str = "skipped"
    reason: str = ""
    average: list[np.ndarray] | None = None  # the model moved by the decrypted average (Eq. (1))

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]


DEFAULT_PARAMS = "v2-rsa2048"

# Spec 4.1 on updates (trained minus received model): scale 2^16, clipped to [-2, 2],
# |D_i| <= 10000, |S| <= 100.
DEFAULT_ENCODING = Encoding(frac_bits=16, clip=2.0, weight_max=10_000, max_clients=100)


@dataclass
class _Client:
    index: int  # the client id i of the spec: AggPKGen's id, SE's binding, the guard's S
    pk: int = 0
    proof: Proof | None = None  # hardened: pk's registration proof, checked


class MpksaWorkflow:
    """The MPKSA fit workflow over the parameter set `params` (its profile, `v1` or `v2`, with it).

    `timeout` bounds the keys and respond stages, `train_timeout` the upload stage (training
    included); None waits for every reply, like SecAgg+. `hardened`: run the hardening of spec
    5.13 and 5.14 (proofs of knowledge, announcements, element checks) with every client."""

    def __init__(self, params: str = DEFAULT_PARAMS, *,
                 encoding: Encoding = DEFAULT_ENCODING, timeout: float | None = None,
                 train_timeout: float | None = None, max_attempts: int = 3, min_clients: int = 2,
                 hardened: bool = False, workers: int | None = None, rng: RandomSource = SYSTEM_RANDOM) -> None:
        if not 1 <= max_attempts < r.MAX_ATTEMPTS:
            raise ParameterError(f"max_attempts = {max_attempts} must lie in [1, {r.MAX_ATTEMPTS - 1}]")
        if min_clients < 2:
            raise ParameterError(f"min_clients = {min_clients}: MPKSA needs |S| >= 2")
        self.profile: StageProfile = stage_profile(parameter_set(params).profile, params, workers, rng)
        self.encoding = encoding
        self.enc = self.profile.encoding(encoding)
        self.timeout = timeout
        self.train_timeout = timeout if train_timeout is None else train_timeout
        self.max_attempts, self.min_clients = max_attempts, min_clients
        self.hardened = hardened
        self.rounds: list[RoundRecord] = []
        self._alpha = 0
        self._beta = 0
        self._beta_proof: Proof | None = None
        self._proofs: dict[int, list[Proof]] = {}  # hardened: each upload's proofs, for the respond stage
        self._clients: dict[int, _Client] = {}

    # --- Flower's entry point -------------------------------------------------------------------

    def __call__(self, grid: Grid, context: Context) -> None:
        if not isinstance(context, LegacyContext):
            raise TypeError(f"Expect a LegacyContext, but get {type(context).__name__}.")
        cfg = context.state.config_records[MAIN_CONFIGS_RECORD]
        server_round = cast(int, cfg[Key.CURRENT_ROUND])
        parameters = compat.arrayrecord_to_parameters(context.state.array_records[MAIN_PARAMS_RECORD], keep_input=True)
        instructions = context.strategy.configure_fit(server_round, parameters, context.client_manager)
        if not instructions:
            log(INFO, "configure_fit: no clients selected, cancel")
            return
        proxies = {proxy.node_id: proxy for proxy, _ in instructions}
        record, metrics = self.run_round(grid, server_round, parameters,
                                         {proxy.node_id: fitins.config for proxy, fitins in instructions})
        if record.outcome != "aggregated":
            return
        average = ndarrays_to_parameters(cast(list, record.average))
        # Every client of S gets the same average and weight 1: a strategy that averages the
        # results (FedAvg and its subclasses) returns it unchanged; |D_i| never left the client.
        results = [(proxies[node], FitRes(Status(Code.OK, ""), average, 1, metrics.get(node, {})))
                   for node in record.final.online]
        failures: list[BaseException] = [Exception(f"MPKSA: node {f.node_id} left at {f.stage}: {f.code}")
                                         for a in record.attempts for f in a.failures]
        aggregated, fit_metrics = context.strategy.aggregate_fit(server_round, results, failures)  # type: ignore[arg-type]
        if aggregated is not None:
            context.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(aggregated, True)
            context.history.add_metrics_distributed_fit(server_round=server_round, metrics=fit_metrics)

    # --- one round ------------------------------------------------------------------------------

    def run_round(self, grid: Grid, server_round: int, parameters: Parameters,
                  fit_configs: dict[int, dict]) -> tuple[RoundRecord, dict[int, dict]]:
        """Algorithm 1 for the sampled nodes (node id -> fit config); returns the record and each
        aggregated client's metrics."""
        if not self._beta:  # SysGen (Alg. 1, line 1); hardened, beta is published with a proof
            self._alpha = self.profile.new_exponent()
            self._beta, self._beta_proof = self.profile.prove(Statement("server key", index=0), self._alpha)
        model = compat.parameters_to_arrayrecord(parameters, keep_input=True)
        arrays = parameters_to_ndarrays(parameters)
        dim = int(sum(a.size for a in arrays))
        record = RoundRecord(server_round, sorted(fit_configs), arrays)
        self.rounds.append(record)
        left: set[int] = set()  # nodes that failed in this round take no further part in it
        for number in range(1, self.max_attempts + 1):
            attempt = Attempt(number, [n for n in record.sampled if n not in left])
            record.attempts.append(attempt)
            metrics = self._attempt(grid, server_round, attempt, model, dim, fit_configs)
            left.update(f.node_id for f in attempt.failures)
            if attempt.outcome == "too-few-clients":
                record.reason = f"too-few-clients: |S| = {len(attempt.online)} < {self.min_clients}"
                break
            if attempt.outcome == "decrypted":
                mean = self.profile.mean(cast(np.ndarray, attempt.weighted_sums), cast(int, attempt.weight_sum), self.enc)
                record.average = moved(arrays, mean)
                record.outcome = "aggregated"
                log(INFO, "MPKSA round %s: aggregated over %s clients in %s attempt(s) (weight sum %s)",
                    server_round, len(attempt.online), number, attempt.weight_sum)
                return record, metrics
        else:
            record.reason = f"round-aborted: no attempt of {self.max_attempts} completed"
        log(WARNING, "MPKSA round %s: skipped, model kept (%s)", server_round, record.reason)
        return record, {}

    def _attempt(self, grid: Grid, server_round: int, attempt: Attempt, model: ArrayRecord, dim: int,
                 fit_configs: dict[int, dict]) -> dict[int, dict]:
        tag = (server_round, attempt.number)
        start = time.perf_counter()
        online = self._keys(grid, tag, attempt)
        attempt.seconds[r.KEYS] = time.perf_counter() - start
        if len(online) < self.min_clients:
            attempt.outcome = "too-few-clients"
            return {}
        if len(online) > self.enc.max_clients:
            raise ParameterError(f"|S| = {len(online)} exceeds the encoding's max_clients = {self.enc.max_clients}")
        log(INFO, "MPKSA round %s attempt %s: S fixed with %s clients", server_round, attempt.number, len(online))
        segments = self.profile.segment_count(self.enc, dim)

        start = time.perf_counter()
        uploads, metrics = self._upload(grid, tag, attempt, model, fit_configs, segments)
        attempt.seconds[r.UPLOAD] = time.perf_counter() - start
        if self._aborted(attempt, r.UPLOAD):
            return {}

        start = time.perf_counter()
        responses = self._respond(grid, tag, attempt, uploads, segments)
        attempt.seconds[r.RESPOND] = time.perf_counter() - start
        if self._aborted(attempt, r.RESPOND):
            return {}

        start = time.perf_counter()
        try:
            sums = self.profile.decrypt(self._alpha, [uploads[n] for n in online], [responses[n] for n in online])
            attempt.weighted_sums, attempt.weight_sum = self.profile.unpack(sums, self.enc, len(online), dim)
        except MpksaError as error:
            # A forged response cannot be traced to its sender: no proof covers the responses.
            log(WARNING, "MPKSA round %s attempt %s aborted: decryption failed: %s: %s",
                server_round, attempt.number, error.code, error)
            return {}
        finally:
            attempt.seconds["decrypt"] = time.perf_counter() - start
        attempt.outcome = "decrypted"
        return metrics

    def _aborted(self, attempt: Attempt, stage: str) -> bool:
        failed = [f for f in attempt.failures if f.stage == stage]
        if not failed:
            return False
        log(WARNING, "MPKSA attempt %s aborted: %s", attempt.number,
            "; ".join(f"node {f.node_id} failed at {f.stage} ({f.code})" for f in failed))
        return True

    # --- the three stages -----------------------------------------------------------------------

    def _keys(self, grid: Grid, tag: tuple[int, int], attempt: Attempt) -> list[int]:
        """beta and the client id down, pk_i up; S = the nodes whose key arrived in time and well
        formed, in the order of their client ids."""
        p = self.profile
        shared = r.header(r.KEYS, p.name, p.params_name, *tag) | {
            "beta": r.element_bytes(self._beta, p.element_bytes), "hardened": self.hardened}
        if self.hardened:
            shared["beta-proof"] = r.proof_bytes(cast(Proof, self._beta_proof), p.proof_bytes)
        for node in attempt.asked:  # client ids are given out in the order nodes are first asked
            self._clients.setdefault(node, _Client(len(self._clients) + 1))
        contents = {n: RecordDict({r.CONFIG: ConfigRecord(shared | {"client": self._clients[n].index})})
                    for n in attempt.asked}
        replies = self._exchange(grid, tag, contents, self.timeout, attempt, r.KEYS)
        keys: dict[int, int] = {}
        for node, reply in replies.items():
            try:
                reply_config = r.config_of(reply.content, r.KEYS)
                r.check_header(reply_config, r.KEYS, p.name, p.params_name, *tag)
                pk = p.check_power_base(r.element_of(r.read_bytes(reply_config, "pk"), p.element_bytes, "pk"), "pk",
                                        self.hardened)
                if self.hardened:
                    self._check_registration(node, pk, r.proof_of(r.read_bytes(reply_config, "pk-proof"),
                                                                  p.proof_bytes, "pk"))
                keys[node] = pk
            except MpksaError as error:
                self._fail(attempt, node, r.KEYS, error)
        for node in self._repeated_keys(keys):
            self._fail(attempt, node, r.KEYS, MalformedInputError(f"node {node} presents a key another node of S presents"))
            del keys[node]
        for node, pk in keys.items():
            known = self._clients[node]
            if known.pk and known.pk != pk:
                log(WARNING, "MPKSA: node %s registers a new key", node)
            known.pk = pk
        attempt.keys = keys
        attempt.online = sorted(keys, key=lambda n: self._clients[n].index)
        return attempt.online

    def _check_registration(self, node: int, pk: int, proof: Proof) -> None:
        """Hardened: pk_i comes with a proof of knowledge of sk_i bound to the client id (spec 5.14),
        checked once per key and proof."""
        client = self._clients[node]
        if (client.pk, client.proof) != (pk, proof):
            self.profile.check_proof(Statement("key", client_id=client.index), pk, proof, f"pk_{client.index}")
            client.proof = proof

    @staticmethod
    def _repeated_keys(keys: dict[int, int]) -> list[int]:
        seen: dict[int, int] = {}
        for pk in keys.values():
            seen[pk] = seen.get(pk, 0) + 1
        return [node for node, pk in keys.items() if seen[pk] > 1]

    def _upload(self, grid: Grid, tag: tuple[int, int], attempt: Attempt, model: ArrayRecord,
                fit_configs: dict[int, dict], segments: int) -> tuple[dict[int, list[int]], dict[int, dict]]:
        """AggPKGen; pk_S and the sealed model down; the encrypted update up."""
        p, online = self.profile, attempt.online
        ids = [self._clients[n].index for n in online]
        pk_s = p.aggregate_key([(self._clients[n].index, self._clients[n].pk) for n in online])
        plain = r.model_bytes(model)
        shared = r.header(r.UPLOAD, p.name, p.params_name, *tag) | {
            "online": ids, "pk-s": r.element_bytes(pk_s, p.element_bytes), "model-record": "fitins.parameters",
            "frac-bits": self.enc.frac_bits, "clip": float(self.enc.clip), "weight-max": self.enc.weight_max,
            "max-clients": self.enc.max_clients}
        announced = {}
        if self.hardened:  # E5: every pk_k of S, in the order of S, with its registration proof
            announced["announced-keys"] = r.elements_array([self._clients[n].pk for n in online], p.element_bytes)
            announced["announced-key-proofs"] = r.proofs_array([cast(Proof, self._clients[n].proof) for n in online],
                                                               p.proof_bytes)
        contents = {}
        self._proofs: dict[int, list[Proof]] = {}
        for node in online:
            client = self._clients[node]
            sealed = p.seal(client.pk, self._alpha, plain, r.aead_round(*tag), client.index)
            arrays = {"sealed-model": r.bytes_array(sealed)} | announced
            contents[node] = RecordDict({
                r.CONFIG: ConfigRecord(shared | {"client": client.index}),
                r.ARRAYS: ArrayRecord(arrays),
                # The attempt lets a ClientApp draw fresh randomness for a re-run (the E7 guard
                # refuses the same update for another S).
                "fitins.config": ConfigRecord(dict(fit_configs[node]) | {ATTEMPT_KEY: tag[1]}),
            })
        replies = self._exchange(grid, tag, contents, self.train_timeout, attempt, r.UPLOAD)
        uploads, metrics = {}, {}
        for node, reply in replies.items():
            try:
                config = r.config_of(reply.content, r.UPLOAD)
                r.check_header(config, r.UPLOAD, p.name, p.params_name, *tag)
                got = r.read_int(config, "segments")
                if got != segments:
                    raise DimensionMismatchError(f"the upload has {got} segments, expected {segments}")
                arrays = r.arrays_of(reply.content, r.UPLOAD)
                upload = r.elements_of(arrays, "upload", p.element_bytes, p.upload_size(segments), "the upload")
                p.check_upload(upload, segments, "the upload")
                if self.hardened:
                    self._proofs[node] = self._check_upload_proofs(arrays, tag, ids, self._clients[node].index, upload,
                                                                   segments)
                uploads[node] = upload
                metrics[node] = dict(reply.content.config_records.get("fitres.metrics", ConfigRecord()))
            except MpksaError as error:
                self._fail(attempt, node, r.UPLOAD, error)
        return uploads, metrics

    def _check_upload_proofs(self, arrays: ArrayRecord, tag: tuple[int, int], ids: list[int], client: int,
                             upload: list[int], segments: int) -> list[Proof]:
        """Hardened: one proof of knowledge of r_j2 per element of the upload's challenge basis,
        bound to the attempt's round number, S, the client and j (spec 5.14)."""
        p = self.profile
        proofs = r.proofs_of(arrays, "upload-proofs", p.proof_bytes, p.challenge_size(segments), "the upload's proofs")
        round_id = r.aead_round(*tag)
        for j, (y, proof) in enumerate(zip(p.challenge_basis(upload), proofs)):
            p.check_proof(Statement("g^r2", client, j, round_id, tuple(ids)), y, proof, f"g^r2[{client}][{j}]")
        return proofs

    def _respond(self, grid: Grid, tag: tuple[int, int], attempt: Attempt, uploads: dict[int, list[int]],
                 segments: int) -> dict[int, list[int]]:
        """ChelGen; the challenge down; the responses up."""
        p, online = self.profile, attempt.online
        challenge = p.challenge([uploads[n] for n in online])
        config = r.header(r.RESPOND, p.name, p.params_name, *tag) | {"online": [self._clients[n].index for n in online]}
        arrays = {"challenge": r.elements_array(challenge, p.element_bytes)}
        if self.hardened:  # E4, E9: every client's bases, in the order of S, with their proofs
            bases = [x for n in online for x in p.challenge_basis(uploads[n])]
            arrays["announced-bases"] = r.elements_array(bases, p.element_bytes)
            arrays["announced-base-proofs"] = r.proofs_array([x for n in online for x in self._proofs[n]], p.proof_bytes)
        content = RecordDict({r.CONFIG: ConfigRecord(config), r.ARRAYS: ArrayRecord(arrays)})
        replies = self._exchange(grid, tag, {n: content for n in online}, self.timeout, attempt, r.RESPOND)
        responses = {}
        for node, reply in replies.items():
            try:
                reply_config = r.config_of(reply.content, r.RESPOND)
                r.check_header(reply_config, r.RESPOND, p.name, p.params_name, *tag)
                response = r.elements_of(r.arrays_of(reply.content, r.RESPOND), "response", p.element_bytes,
                                         p.challenge_size(segments), "the response")
                for j, x in enumerate(response):
                    p.check_unit(x, f"T[{j}]")
                responses[node] = response
            except MpksaError as error:
                self._fail(attempt, node, r.RESPOND, error)
        return responses

    # --- messages -------------------------------------------------------------------------------

    def _exchange(self, grid: Grid, tag: tuple[int, int], contents: dict[int, RecordDict], timeout: float | None,
                  attempt: Attempt, stage: str) -> dict[int, Message]:
        """Send one message per node and collect the replies; a missing or error reply is a failure."""
        messages = [Message(content=content, dst_node_id=node, message_type=MessageType.TRAIN, group_id=str(tag[0]))
                    for node, content in contents.items()]
        replies: dict[int, Message] = {}
        for reply in grid.send_and_receive(messages, timeout=timeout):
            node = reply.metadata.src_node_id
            if node not in contents or node in replies:
                log(WARNING, "MPKSA: ignored an unexpected %s reply from node %s", stage, node)
                continue
            if reply.has_error():
                self._record(attempt, Failure(node, stage, error_code(reply), reply.error.reason or ""))
                continue
            replies[node] = reply
        for node in contents:
            if node not in replies and not any(f.node_id == node and f.stage == stage for f in attempt.failures):
                self._record(attempt, Failure(node, stage, TIMEOUT, f"no reply within {timeout} s"))
        return replies

    def _fail(self, attempt: Attempt, node: int, stage: str, error: MpksaError) -> None:
        self._record(attempt, Failure(node, stage, error.code, str(error)))

    @staticmethod
    def _record(attempt: Attempt, failure: Failure) -> None:
        log(WARNING, "MPKSA: node %s dropped at %s: %s: %s", failure.node_id, failure.stage, failure.code, failure.message)
        attempt.failures.append(failure)


def error_code(reply: Message) -> str:
    """The typed error code a refusing mod put first in its error reply, else `client-error`."""
    code = (reply.error.reason or "").partition(": ")[0]
    if reply.error.code == ErrorCode.MOD_FAILED_PRECONDITION and ERROR_CODE.fullmatch(code):
        return code
    return CLIENT_ERROR


def moved(arrays: Sequence[np.ndarray], mean: np.ndarray) -> list[np.ndarray]:
    """The global model plus the decrypted average update, array by array, in each array's dtype."""
    out, start = [], 0
    for a in arrays:
        out.append((a.astype(np.float64) + mean[start:start + a.size].reshape(a.shape)).astype(a.dtype))
        start += a.size
    return out

