"""The three aggregations the demo compares, each timing and counting bytes per phase.

- `PlaintextAggregator`: FedAvg, Eq. (1), on the clipped float updates. No protection.
- `V1Aggregator`: Algorithm 1 with profile `v1`, run by the fast implementation (`mpksa.fast`):
  AggPKGen, SE/DSE of the model, quantize + pack (Eq. (2)) + Enc, ChelGen, ResGen, Agg, Dec, decode.
- `PaperAggregator`: the equations as printed (profile `paper`) through the reference's
  `mpksa.round.run_round`. Finding E1: what it decrypts is not the sum; the round's update is
  skipped when it is not even finite, and clipped to +-clip otherwise (both are reported).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

import numpy as np

from mpksa import fast
from mpksa.encoding import Encoding
from mpksa.errors import MpksaError
from mpksa.params import parameter_set
from mpksa.randomness import SYSTEM_RANDOM, exponent
from mpksa.round import Client, run_round, setup
from mpksa.wire.codec import nbytes


@dataclass
class RoundLog:
    """Seconds and bytes of one round of one mode, per phase (our Fig. 3 and Fig. 4)."""

    seconds: dict[str, float] = field(default_factory=dict)
    bytes_up: dict[str, int] = field(default_factory=dict)
    bytes_down: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    on_phase: Callable[[str, int], Callable[[], None]] | None = None

    @contextmanager
    def phase(self, name: str, steps: int = 1) -> Iterator[Callable[[], None]]:
        """Time a phase; yields a function to call after each of its `steps` (progress bars)."""
        tick = self.on_phase(name, steps) if self.on_phase else (lambda: None)
        start = time.perf_counter()
        try:
            yield tick
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def up(self, name: str, count: int) -> None:
        self.bytes_up[name] = self.bytes_up.get(name, 0) + count

    def down(self, name: str, count: int) -> None:
        self.bytes_down[name] = self.bytes_down.get(name, 0) + count


class Aggregator(Protocol):
    name: str

    def broadcast(self, round_id: int, model: bytes, online: Sequence[int], log: RoundLog) -> None:
        """Send the global model W to every client of S (Algorithm 1, line 3)."""

    def aggregate(self, round_id: int, updates: dict[int, np.ndarray], log: RoundLog) -> np.ndarray | None:
        """The weighted average of the updates of S as the server learns it, or None (round skipped)."""


class PlaintextAggregator:
    """FedAvg (Eq. (1)): sum_i |D_i| * clip(u_i) / sum_i |D_i|, in float64."""

    name = "plaintext"

    def __init__(self, weights: dict[int, int], clip: float, dim: int) -> None:
        self.weights, self.clip, self.dim = weights, clip, dim

    def broadcast(self, round_id: int, model: bytes, online: Sequence[int], log: RoundLog) -> None:
        log.down("broadcast", len(model) * len(online))

    def aggregate(self, round_id: int, updates: dict[int, np.ndarray], log: RoundLog) -> np.ndarray | None:
        with log.phase("aggregate"):
            total = sum(self.weights[i] * np.clip(u, -self.clip, self.clip) for i, u in updates.items())
            average = total / sum(self.weights[i] for i in updates)
        log.up("upload", 4 * self.dim * len(updates))  # float32 updates
        log.notes["update_norm"] = float(np.linalg.norm(average))
        return average


class V1Aggregator:
    """Algorithm 1 with profile `v1`, every operation by the fast implementation."""

    name = "v1"

    def __init__(self, params_name: str, weights: dict[int, int], encoding: Encoding, dim: int,
                 workers: int | None = None) -> None:
        self.weights, self.dim, self.encoding = weights, dim, encoding
        self.engine = fast.for_parameter_set(params_name, workers=workers, clients_hint=len(weights))
        self.params = self.engine.params
        self.element_bytes = nbytes(self.params.n2)
        # System initialization: SysGen by the server, KeyGen by every client (secrets).
        self.alpha = exponent(self.params.exponent_bound, SYSTEM_RANDOM)
        self.beta = self.engine.sys_gen(self.alpha)
        self.sk = {i: exponent(self.params.exponent_bound, SYSTEM_RANDOM) for i in weights}
        self.pk = {i: self.engine.key_gen(sk) for i, sk in self.sk.items()}
        self.pk_s = 0
        self.last_exact: bool | None = None
        self.last_sums: tuple[np.ndarray, int] | None = None  # (sum_i w_i*q_i, sum_i w_i) as decrypted

    @property
    def segments(self) -> int:
        return self.encoding.segment_count(self.dim, self.params.modulus_bits)

    def broadcast(self, round_id: int, model: bytes, online: Sequence[int], log: RoundLog) -> None:
        """AggPKGen and SE by the server; CheckPkS and DSE by each client."""
        with log.phase("broadcast", len(online)) as tick:
            self.pk_s = self.engine.agg_pk_gen([(i, self.pk[i]) for i in online])
            for i in online:
                sealed = self.engine.seal(self.pk[i], self.alpha, model, round_id, i)
                self.engine.check_pk_s(self.pk_s, self.pk[i])
                if self.engine.unseal(self.beta, self.sk[i], sealed, round_id, i) != model:
                    raise AssertionError("DSE returned another model")  # AES-GCM would have refused
                log.down("broadcast", self.element_bytes + len(sealed))
                tick()

    def aggregate(self, round_id: int, updates: dict[int, np.ndarray], log: RoundLog) -> np.ndarray | None:
        online = list(updates)
        engine, encoding, bits = self.engine, self.encoding, self.params.modulus_bits
        quantized: dict[int, np.ndarray] = {}
        ciphertexts = []
        with log.phase("encrypt", len(online)) as tick:
            for i in online:
                quantized[i] = fast.quantize(updates[i], encoding)  # clips to +-clip
                segments = fast.encode(quantized[i], self.weights[i], encoding, bits)
                ciphertexts.append(engine.enc(self.beta, self.pk_s, segments))
                log.up("encrypt", 3 * len(segments) * self.element_bytes)
                tick()
        with log.phase("challenge"):
            challenge = engine.chel_gen(ciphertexts)
            log.down("challenge", len(challenge) * self.element_bytes * len(online))
        with log.phase("respond", len(online)) as tick:
            responses = []
            for i in online:
                responses.append(engine.res_gen(challenge, self.sk[i]))
                log.up("respond", len(challenge) * self.element_bytes)
                tick()
        with log.phase("decrypt"):
            sums = engine.dec(self.alpha, engine.agg(ciphertexts, responses))
            weighted, weight_sum = fast.decode(sums, encoding, len(online), self.dim, bits)
            average = fast.average(weighted, weight_sum, encoding)
        self.last_sums = (weighted, weight_sum)
        # What the server decrypted must be the plaintext sum of the quantized, weighted updates.
        expected = sum(np.int64(self.weights[i]) * quantized[i] for i in online)
        self.last_exact = bool(np.array_equal(weighted, expected) and weight_sum == sum(self.weights[i] for i in online))
        log.notes["exact"] = self.last_exact
        log.notes["segments_per_client"] = len(challenge)
        log.notes["update_norm"] = float(np.linalg.norm(average))
        return average


class PaperAggregator:
    """The printed scheme (profile `paper`), Algorithm 1 by the reference's `run_round`."""

    name = "paper"

    def __init__(self, params_name: str, weights: dict[int, int], encoding: Encoding, dim: int) -> None:
        self.params = parameter_set(params_name)
        if self.params.profile != "paper":
            raise MpksaError(f"--paper-params {params_name!r} is not a paper parameter set")
        self.weights, self.dim, self.clip = weights, dim, encoding.clip
        self.encoding = encoding
        self.server_key, self.keys = setup(self.params, self.encoding, dim, list(weights))
        self.model = b""

    def broadcast(self, round_id: int, model: bytes, online: Sequence[int], log: RoundLog) -> None:
        self.model = model  # run_round seals it for every client

    def aggregate(self, round_id: int, updates: dict[int, np.ndarray], log: RoundLog) -> np.ndarray | None:
        clients = [Client(i, self.keys[i], np.clip(u, -self.clip, self.clip).tolist(), self.weights[i])
                   for i, u in updates.items()]
        with log.phase("secure round", 1) as tick:
            try:
                result = run_round(self.params, self.encoding, self.server_key, clients, list(updates),
                                   model=self.model, round_id=round_id)
            except MpksaError as exc:
                log.notes.update(skipped=True, reason=f"{exc.code}: {exc}")
                return None
            tick()
        self._count_bytes(result, len(updates), log)
        log.notes["decrypted_sum_correct"] = result.correct
        # What E1 does: the weight slot decrypts to a garbage sum of weights too.
        log.notes["decrypted_weight_sum"] = str(result.weight_sum)
        log.notes["true_weight_sum"] = result.expected_weight_sum
        if result.weight_sum == 0:
            log.notes.update(skipped=True, reason="decrypted weight sum is 0 (finding E1)")
            return None
        average = np.ldexp(np.asarray(result.weighted_sums, dtype=np.float64) / result.weight_sum,
                           -self.encoding.frac_bits)
        if not np.all(np.isfinite(average)):
            log.notes.update(skipped=True, reason="decrypted average is not finite (finding E1)")
            return None
        log.notes["clipped_coordinates"] = int(np.sum(np.abs(average) > self.clip))
        log.notes["skipped"] = False
        applied = np.clip(average, -self.clip, self.clip)
        log.notes["update_norm"] = float(np.linalg.norm(applied))
        return applied

    def _count_bytes(self, result: Any, clients: int, log: RoundLog) -> None:
        p_bytes, p2_bytes = nbytes(self.params.p), nbytes(self.params.p2)
        log.down("broadcast", sum(len(s) + p_bytes for s in result.sealed_models.values()))
        log.up("encrypt", sum(len(c.e1) * p2_bytes + 2 * len(c.e2) * p_bytes for c in result.ciphertexts.values()))
        log.down("challenge", len(result.challenge) * p_bytes * clients)
        log.up("respond", sum(len(t) * p_bytes for t in result.responses.values()))
