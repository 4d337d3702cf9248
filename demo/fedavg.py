"""The demo's run: FedAvg through every aggregation, on the same data and the same local training.

Every mode trains its own global model from the same initial weights, on the same client split,
with the same online set S and the same local batch order each round, so the only difference
between them is the aggregation:

- `plaintext`, `v1`, `v2` and `secagg+` run on Flower, one after the other in one run of Flower's
  simulation engine (Ray; `engine="local"` runs the same nodes in this process), through
  `mpksa.flower.compare`: Flower's default fit workflow, `MpksaWorkflow` with `mpksa_mod` on the
  fast implementation, and Flower's `SecAggPlusWorkflow` with `secaggplus_mod`. Seconds per round
  are the server's, bytes per client are Flower's protobuf messages counted at the grid.
- `paper` (the equations as printed, finding E1) runs in this process through the reference's
  `run_round`: the printed scheme does not fit the stage protocol (one server key per segment,
  elements of two sizes), and what it shows is that it does not decrypt the sum. Its bytes per
  client are its messages' sizes; its seconds include the clients' training, one after another.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mpksa.encoding import Encoding, quantize
from mpksa.params import parameter_set

from .aggregators import PaperAggregator, RoundLog
from .clientapp import MODE_KEY, Dropouts, Task, batch_seed, client_app, local_data
from .config import FLOWER_MODES, DemoConfig, Reporter
from .model import (
    SmallCNN,
    TrainSettings,
    arrays_of,
    choose_device,
    evaluate,
    get_arrays,
    get_vector,
    local_update,
    vector_of,
)


def online_set(rng: np.random.Generator, clients: int, rate: float) -> list[int]:
    """S for one round: each client drops out with probability `rate` before S is fixed (Theorem 4)."""
    return [i for i in range(clients) if rng.random() >= rate]


class Evaluator:
    """Test accuracy and loss of a global model, on the server (our Fig. 2)."""

    def __init__(self, config: DemoConfig, dataset: Any, device: torch.device) -> None:
        torch.manual_seed(config.seed)
        self.model = SmallCNN(dataset.channels, dataset.classes, config.width).to(device)
        self.initial = get_vector(self.model)
        self.x = torch.as_tensor(dataset.x_test, device=device)
        self.y = torch.as_tensor(dataset.y_test, device=device)

    def __call__(self, vector: np.ndarray) -> tuple[float, float]:
        return evaluate(self.model, vector, self.x, self.y)


QUIET = {"FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1", "RAY_USAGE_STATS_ENABLED": "0",
         "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0"}
"""Flower and Ray, told not to call home (the demo reaches no network), and Ray's future default now."""


def run(config: DemoConfig, reporter: Reporter | None = None) -> dict[str, Any]:
    """Train every mode for config.rounds rounds; return the results (see report.write_results)."""
    config.check()
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)
    reporter = reporter or Reporter()
    if config.threads:
        torch.set_num_threads(config.threads)
    device = choose_device(config.device)
    dataset, shares = local_data(config)
    weights = {i: len(share) for i, share in enumerate(shares)}  # |D_i|, Eq. (1)
    evaluator = Evaluator(config, dataset, device)
    dim = int(evaluator.initial.size)
    encoding = Encoding(config.frac_bits, config.clip, max(weights.values()), config.clients)
    dropout_rng = np.random.default_rng([config.seed, 1])
    schedule = {r: online_set(dropout_rng, config.clients, config.dropout_rate) for r in range(1, config.rounds + 1)}
    accuracy0, loss0 = evaluator(evaluator.initial)

    modes: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    reporter.start(config.modes, config.rounds)
    try:
        flower = [m for m in config.modes if m in FLOWER_MODES]
        if flower:
            start = time.perf_counter()
            modes |= run_flower(config, flower, evaluator, weights, encoding, schedule, device, reporter)
            seconds["flower"] = time.perf_counter() - start
        if "paper" in config.modes:
            start = time.perf_counter()
            modes["paper"] = run_paper(config, dataset, shares, weights, evaluator, encoding, schedule, device, reporter)
            seconds["paper"] = time.perf_counter() - start
    finally:
        reporter.stop()

    sets = {"v1": config.params, "v2": config.v2_params, "paper": config.paper_params}
    return {
        "config": asdict(config) | {"modes": list(config.modes), "device": str(device)},
        "dataset": {"name": dataset.name, "train": int(len(dataset.y_train)), "test": int(len(dataset.y_test)),
                    "client_sizes": [weights[i] for i in range(config.clients)]},
        "model": {"architecture": "SmallCNN", "width": config.width, "parameters": dim},
        "encoding": asdict(encoding),
        "parameter_sets": {m: sets[m] for m in config.modes if m in sets},
        "segments_per_client": {m: encoding.segment_count(dim, parameter_set(sets[m]).modulus_bits)
                                for m in ("v1", "v2") if m in config.modes},
        "initial": {"accuracy": accuracy0, "loss": loss0},
        "seconds": seconds,
        "modes": {mode: modes[mode] for mode in config.modes},
    }


# --- plaintext, v1, v2, secagg+: on Flower ------------------------------------------------------------

def run_flower(config: DemoConfig, methods: list[str], evaluator: Evaluator, weights: dict[int, int],
               encoding: Encoding, schedule: dict[int, list[int]], device: torch.device,
               reporter: Reporter) -> dict[str, dict[str, Any]]:
    """The Flower modes in one run of `config.engine`. Per mode, each round's online set, test accuracy
    and loss, seconds, bytes per client each way, and notes (MPKSA: outcome, attempts, stage seconds,
    and whether the decrypted sum is exact)."""
    from flwr.common import ndarrays_to_parameters
    from flwr.server.strategy import FedAvg

    from mpksa.flower.compare import compare

    initial = ndarrays_to_parameters(arrays_of(evaluator.initial, get_arrays(evaluator.model)))
    evaluated: dict[tuple[str, int], tuple[float, float]] = {}
    fit_seconds: dict[tuple[str, int], float] = {}

    def strategy(mode: str) -> FedAvg:
        def evaluate_fn(server_round: int, arrays: list[np.ndarray], _: dict) -> tuple[float, dict]:
            accuracy, loss = evaluator(vector_of(arrays))
            if server_round > 0:
                evaluated[mode, server_round] = accuracy, loss
                reporter.round_done(mode, server_round, accuracy, fit_seconds.get((mode, server_round), 0.0))
            return loss, {"accuracy": accuracy}

        return FedAvg(fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=2, min_available_clients=config.clients,
                      initial_parameters=initial, evaluate_fn=evaluate_fn, fit_metrics_aggregation_fn=lambda _: {},
                      on_fit_config_fn=lambda r: {"server-round": r, MODE_KEY: mode})

    def on_round(mode: str, server_round: int, seconds: float, up: float, down: float) -> None:
        fit_seconds[mode, server_round] = seconds

    cpus = os.cpu_count() or 1
    resources: dict[str, float] = {"num_cpus": 1}
    if device.type == "cuda":
        resources["num_gpus"] = 1 / cpus
    with tempfile.TemporaryDirectory(prefix="mpksa-demo-") as witness:
        task = Task(config, witness)
        runs = compare(methods, lambda router: client_app(task, [Dropouts(schedule), router]), strategy,
                       clients=config.clients, rounds=config.rounds, engine=config.engine,
                       # The user picked the sets; an insecure one is marked so in the summary.
                       params={"v1": config.params, "v2": config.v2_params}, allow_insecure=True,
                       hardened=config.hardened, encoding=encoding, secagg_max_weight=max(weights.values()), workers=config.workers,
                       backend_config={"client_resources": resources, "init_args": {"num_cpus": cpus}},
                       on_round=on_round)
        out = {}
        for mode, run in runs.items():
            rounds = []
            for r in range(1, config.rounds + 1):
                accuracy, loss = evaluated[mode, r]
                entry = {"round": r, "online": schedule[r], "accuracy": accuracy, "loss": loss,
                         "seconds": run.seconds[r - 1], "bytes_up": run.up[r - 1], "bytes_down": run.down[r - 1],
                         "notes": {} if run.moved[r - 1] else {"skipped": True, "reason": "the model did not change"}}
                if run.workflow is not None:
                    entry["notes"] = _mpksa_notes(run.workflow, r, mode, Path(witness), weights, encoding)
                rounds.append(entry)
            out[mode] = {"rounds": rounds, "runtime": f"Flower ({config.engine})"}
    return out


def _mpksa_notes(workflow: Any, server_round: int, mode: str, witness: Path, weights: dict[int, int],
                 encoding: Encoding) -> dict[str, Any]:
    """What the workflow did in a round, and whether it decrypted exactly the clients' sum."""
    record = next(rec for rec in workflow.rounds if rec.server_round == server_round)
    final = record.final
    before = [rec for rec in workflow.rounds if rec.server_round < server_round]
    known = before[-1].final.keys if before else {}
    notes: dict[str, Any] = {"outcome": record.outcome, "attempts": len(record.attempts),
                             "stages": dict(final.seconds), "clients": len(final.online),
                             # clients of S without a key in the round before: new, or back from a dropout
                             "new_keys": sum(1 for node, pk in final.keys.items() if known.get(node) != pk)}
    if record.outcome != "aggregated":
        notes.update(skipped=True, reason=record.reason)
        return notes
    totals: np.ndarray | None = None
    weight_sum = 0
    for node in final.online:
        (path,) = witness.glob(f"{mode}-r{server_round}-a{final.number}-n{node}-p*.npy")
        partition = int(path.stem.rpartition("-p")[2])
        quantized = np.array(quantize(np.load(path).tolist(), encoding), dtype=object)
        totals = weights[partition] * quantized + (0 if totals is None else totals)
        weight_sum += weights[partition]
    decrypted = [int(x) for x in np.asarray(final.weighted_sums).tolist()]
    notes["exact"] = totals is not None and decrypted == [int(x) for x in totals] and final.weight_sum == weight_sum
    return notes


# --- paper: the printed scheme, in this process -----------------------------------------------------

def run_paper(config: DemoConfig, dataset: Any, shares: list[np.ndarray], weights: dict[int, int],
              evaluator: Evaluator, encoding: Encoding, schedule: dict[int, list[int]], device: torch.device,
              reporter: Reporter) -> dict[str, Any]:
    """Broadcast, local training of S one client after another, the reference's run_round."""
    aggregator = PaperAggregator(config.paper_params, weights, encoding, int(evaluator.initial.size))
    x_train, y_train = torch.as_tensor(dataset.x_train, device=device), torch.as_tensor(dataset.y_train, device=device)
    local = {i: (x_train[torch.as_tensor(s, device=device)], y_train[torch.as_tensor(s, device=device)])
             for i, s in enumerate(shares)}
    model = SmallCNN(dataset.channels, dataset.classes, config.width).to(device)
    train = TrainSettings(config.epochs, config.lr, config.momentum, config.batch_size)
    vector = evaluator.initial.copy()
    rounds = []
    for round_id in range(1, config.rounds + 1):
        online = schedule[round_id]
        log = RoundLog()
        start = time.perf_counter()
        if len(online) >= 2:  # |S| >= 2, as in the other modes
            aggregator.broadcast(round_id, vector.astype(np.float32).tobytes(), online, log)
            with log.phase("train"):
                updates = {i: local_update(model, vector, *local[i], train, batch_seed(config.seed, round_id, i))
                           for i in online}
            average = aggregator.aggregate(round_id, updates, log)
            if average is not None:
                vector = vector + average
        else:
            log.notes.update(skipped=True, reason="fewer than 2 clients online")
        seconds = time.perf_counter() - start
        accuracy, loss = evaluator(vector)
        log.notes["stages"] = log.seconds
        rounds.append({"round": round_id, "online": online, "accuracy": accuracy, "loss": loss, "seconds": seconds,
                       "bytes_up": sum(log.bytes_up.values()) / max(len(online), 1),
                       "bytes_down": sum(log.bytes_down.values()) / max(len(online), 1), "notes": log.notes})
        reporter.round_done("paper", round_id, accuracy, seconds)
    return {"rounds": rounds, "runtime": "in process, reference"}
