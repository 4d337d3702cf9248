"""FedAvg with secure aggregation: the demo's training loop (Algorithm 1 around Sec. 2's FedAvg).

Every mode (plaintext, v1, paper) trains its own global model from the same initial weights, on
the same client split, with the same online set S and the same local batch order each round, so
the only difference between them is the aggregation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from mpksa.encoding import Encoding
from mpksa.errors import ParameterError

from . import data as datasets
from .aggregators import (
    PaperAggregator,
    PlaintextAggregator,
    RoundLog,
    V1Aggregator,
)
from .config import DemoConfig, Reporter, Tick
from .model import SmallCNN, TrainSettings, evaluate, get_vector, local_update

@dataclass
class ModeHistory:
    rounds: list[dict[str, Any]] = field(default_factory=list)


def choose_device(name: str) -> torch.device:
    """auto: CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParameterError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise ParameterError(f"--device {name!r}: use auto, cpu or cuda")
    return torch.device(name)


def batch_seed(seed: int, round_id: int, client: int) -> int:
    """The seed of one client's batch order in one round: the same in every mode."""
    return int(np.random.SeedSequence([seed, round_id, client]).generate_state(1)[0])


def online_set(rng: np.random.Generator, clients: int, rate: float) -> list[int]:
    """S for one round: each client drops out with probability `rate` before S is fixed (Theorem 4)."""
    return [i for i in range(clients) if rng.random() >= rate]


def run(config: DemoConfig, reporter: Reporter | None = None) -> dict[str, Any]:
    """Train every mode for config.rounds rounds; return the results (see report.write_results)."""
    config.check()
    reporter = reporter or Reporter()
    if config.threads:
        torch.set_num_threads(config.threads)
    device = choose_device(config.device)
    dataset = datasets.load(config.dataset, config.data_dir, config.seed)
    shares = datasets.split(dataset.y_train, config.clients, config.split, config.alpha, config.seed)
    weights = {i: len(share) for i, share in enumerate(shares)}  # |D_i|, Eq. (1)
    x_train = torch.as_tensor(dataset.x_train, device=device)
    y_train = torch.as_tensor(dataset.y_train, device=device)
    local = {i: (x_train[torch.as_tensor(s, device=device)], y_train[torch.as_tensor(s, device=device)])
             for i, s in enumerate(shares)}
    x_test, y_test = torch.as_tensor(dataset.x_test, device=device), torch.as_tensor(dataset.y_test, device=device)

    torch.manual_seed(config.seed)
    model = SmallCNN(dataset.channels, dataset.classes, config.width).to(device)
    initial = get_vector(model)
    dim = initial.size
    encoding = Encoding(config.frac_bits, config.clip, max(weights.values()), config.clients)
    train = TrainSettings(config.epochs, config.lr, config.momentum, config.batch_size)

    setup_seconds: dict[str, float] = {}
    aggregators: dict[str, Any] = {}
    for mode in config.modes:
        start = time.perf_counter()
        if mode == "plaintext":
            aggregators[mode] = PlaintextAggregator(weights, config.clip, dim)
        elif mode == "v1":
            aggregators[mode] = V1Aggregator(config.params, weights, encoding, dim, config.workers)
        else:
            aggregators[mode] = PaperAggregator(config.paper_params, weights, encoding, dim)
        setup_seconds[mode] = time.perf_counter() - start

    vectors = {mode: initial.copy() for mode in config.modes}
    history = {mode: ModeHistory() for mode in config.modes}
    accuracy0, loss0 = evaluate(model, initial, x_test, y_test)
    dropout_rng = np.random.default_rng([config.seed, 1])
    reporter.start(config.rounds, config.modes)
    try:
        for round_id in range(1, config.rounds + 1):
            online = online_set(dropout_rng, config.clients, config.dropout_rate)
            accuracies = {}
            for mode in config.modes:
                log = RoundLog(on_phase=_phase_callback(reporter, mode))
                vectors[mode], entry = _one_round(aggregators[mode], vectors[mode], round_id, online, local,
                                                  model, train, config.seed, log)
                entry["accuracy"], entry["loss"] = evaluate(model, vectors[mode], x_test, y_test)
                history[mode].rounds.append(entry)
                accuracies[mode] = entry["accuracy"]
            reporter.round_done(round_id, accuracies)
    finally:
        reporter.stop()

    return {
        "config": asdict(config) | {"modes": list(config.modes), "device": str(device)},
        "dataset": {"name": dataset.name, "train": int(len(dataset.y_train)), "test": int(len(dataset.y_test)),
                    "client_sizes": [weights[i] for i in range(config.clients)]},
        "model": {"architecture": "SmallCNN", "width": config.width, "parameters": int(dim)},
        "encoding": asdict(encoding),
        "segments_per_client": aggregators["v1"].segments if "v1" in aggregators else None,
        "initial": {"accuracy": accuracy0, "loss": loss0},
        "setup_seconds": setup_seconds,
        "modes": {mode: {"rounds": history[mode].rounds} for mode in config.modes},
    }


def _phase_callback(reporter: Reporter, mode: str) -> Callable[[str, int], Tick]:
    return lambda name, steps: reporter.phase(mode, name, steps)


def _one_round(aggregator: Any, vector: np.ndarray, round_id: int, online: list[int],
               local: dict[int, tuple[torch.Tensor, torch.Tensor]], model: torch.nn.Module,
               train: TrainSettings, seed: int, log: RoundLog) -> tuple[np.ndarray, dict[str, Any]]:
    """Broadcast, local training, aggregation; the model moves by the aggregate, if any (Eq. (1))."""
    entry: dict[str, Any] = {"round": round_id, "online": online}
    if len(online) < 2:
        # v1 needs |S| >= 2 (a lone client's update would be the sum): nobody trains this round.
        entry.update(seconds={}, bytes_up={}, bytes_down={}, notes={"skipped": True, "reason": "fewer than 2 clients online"})
        return vector, entry
    model_bytes = vector.astype(np.float32).tobytes()
    aggregator.broadcast(round_id, model_bytes, online, log)
    updates = {}
    with log.phase("train", len(online)) as tick:
        for i in online:
            x, y = local[i]
            updates[i] = local_update(model, vector, x, y, train, seed=batch_seed(seed, round_id, i))
            tick()
    average = aggregator.aggregate(round_id, updates, log)
    if average is not None:
        vector = vector + average
    entry.update(seconds=log.seconds, bytes_up=log.bytes_up, bytes_down=log.bytes_down, notes=log.notes)
    return vector, entry
