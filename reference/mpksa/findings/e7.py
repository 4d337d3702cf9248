"""E7: a false dropout and a re-run on the same updates.

Two honest `v1` rounds through `run_round` (S, then S minus {target}), and the client's
re-run guard.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..encoding import Encoding
from ..errors import ParameterError
from ..guard import RerunGuard, update_digest
from ..params import V1Params
from ..randomness import RandomSource
from .common import default_encoding, draw_pairs, draw_round, error_code, replay_round, replayed_keys


@dataclass(frozen=True)
class E7Demo:
    """Two honest v1 rounds on the same updates, S then S minus {target}, and the guard."""

    n: int
    g: int
    encoding: dict[str, int | float]
    alpha: int
    sks: list[int]
    quantized: list[list[int]]
    weights: list[int]
    online_first: list[int]
    online_rerun: list[int]
    r1_first: list[list[int]]
    r2_first: list[list[int]]
    r1_rerun: list[list[int]]
    r2_rerun: list[list[int]]
    sums_first: list[int]
    weight_sum_first: int
    sums_rerun: list[int]
    weight_sum_rerun: int
    target: int
    difference: list[int]
    difference_weight: int
    guard_first_errors: list[str | None]
    guard_rerun_errors: list[str | None]


def e7_rerun_difference(params: V1Params, rng: RandomSource, clients: int = 3,
                        encoding: Encoding | None = None, dim: int | None = None) -> E7Demo:
    """E7: a server that claims client `target` dropped and re-runs with S minus {target} on the
    same updates (fresh randomness) learns the target's update as the difference. With a
    `RerunGuard` at each client (outside the paper's model) the re-run is refused.

    Draws alpha, sk_i, updates, the first round's (r1, r2), then the re-run's."""
    if clients < 3:
        raise ParameterError(f"clients = {clients}: the re-run needs |S minus {{j}}| >= 2")
    enc = default_encoding(clients, encoding)
    dim = enc.slots_per_segment(params.modulus_bits) if dim is None else dim
    alpha, sks, updates, draws = draw_round(params, enc, clients, dim, rng)
    target = clients - 1
    online, rerun = list(range(clients)), list(range(clients - 1))
    u = len(draws[0])
    draws_rerun = [draw_pairs(params, u, rng) for _ in rerun]
    weights = [1] * clients
    key, pairs = replayed_keys(params, alpha, sks)
    first = replay_round(params, enc, key, pairs, online, updates, weights, draws)
    second = replay_round(params, enc, key, pairs, rerun, updates, weights, draws_rerun)
    guards = [RerunGuard() for _ in online]
    digests = [update_digest(updates[i], weights[i]) for i in online]
    first_errors = [error_code(lambda i=i: guards[i].admit(digests[i], online)) for i in online]
    rerun_errors = [error_code(lambda i=i: guards[i].admit(digests[i], rerun)) for i in rerun]
    return E7Demo(
        n=params.n, g=params.g, encoding=dataclasses.asdict(enc), alpha=alpha, sks=sks,
        quantized=[first.quantized[i] for i in online], weights=weights,
        online_first=online, online_rerun=rerun, r1_first=[[a for a, _ in d] for d in draws],
        r2_first=[[b for _, b in d] for d in draws], r1_rerun=[[a for a, _ in d] for d in draws_rerun],
        r2_rerun=[[b for _, b in d] for d in draws_rerun], sums_first=first.weighted_sums,
        weight_sum_first=first.weight_sum, sums_rerun=second.weighted_sums, weight_sum_rerun=second.weight_sum,
        target=target, difference=[a - b for a, b in zip(first.weighted_sums, second.weighted_sums)],
        difference_weight=first.weight_sum - second.weight_sum,
        guard_first_errors=first_errors, guard_rerun_errors=rerun_errors,
    )
