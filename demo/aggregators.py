"""The demo's `paper` mode, timing and counting bytes per phase (the other modes run on Flower).

`PaperAggregator`: the equations as printed (profile `paper`) through the reference's
`mpksa.round.run_round`. Finding E1: what it decrypts is not the sum; the round's update is
skipped when it is not even finite, and clipped to +-clip otherwise (both are reported).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from mpksa.encoding import Encoding
from mpksa.errors import MpksaError, ParameterError
from mpksa.params import parameter_set
from mpksa.round import Client, run_round, setup
from mpksa.wire.codec import nbytes


@dataclass
class RoundLog:
    """Seconds and bytes of one round of one mode, per phase (our Fig. 3 and Fig. 4)."""

    seconds: dict[str, float] = field(default_factory=dict)
    bytes_up: dict[str, int] = field(default_factory=dict)
    bytes_down: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def up(self, name: str, count: int) -> None:
        self.bytes_up[name] = self.bytes_up.get(name, 0) + count

    def down(self, name: str, count: int) -> None:
        self.bytes_down[name] = self.bytes_down.get(name, 0) + count


class PaperAggregator:
    """The printed scheme (profile `paper`), Algorithm 1 by the reference's `run_round`."""

    name = "paper"

    def __init__(self, params_name: str, weights: dict[int, int], encoding: Encoding, dim: int) -> None:
        self.params = parameter_set(params_name)
        if self.params.profile != "paper":
            raise ParameterError(f"--paper-params {params_name!r} is not a paper parameter set")
        self.weights, self.dim, self.clip = weights, dim, encoding.clip
        self.encoding = encoding
        self.server_key, self.keys = setup(self.params, self.encoding, dim, list(weights))
        self.model = b""

    def broadcast(self, round_id: int, model: bytes, online: Sequence[int], log: RoundLog) -> None:
        self.model = model  # run_round seals it for every client

    def aggregate(self, round_id: int, updates: dict[int, np.ndarray], log: RoundLog) -> np.ndarray | None:
        clients = [Client(i, self.keys[i], np.clip(u, -self.clip, self.clip).tolist(), self.weights[i])
                   for i, u in updates.items()]
        with log.phase("secure round"):
            try:
                result = run_round(self.params, self.encoding, self.server_key, clients, list(updates),
                                   model=self.model, round_id=round_id)
            except MpksaError as exc:
                log.notes.update(skipped=True, reason=f"{exc.code}: {exc}")
                return None
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
