"""One FedAvg job three ways on Flower: plaintext, MPKSA, and Flower's own SecAgg+ (for benchmarks).

The same synthetic ClientApp (`synthetic`) runs with no mod and Flower's default fit workflow,
with `mpksa_mod` and `MpksaWorkflow`, or with `secaggplus_mod` and `SecAggPlusWorkflow`; the grid is
the in-process `LocalGrid` or Flower's simulation engine (Ray). `measure` returns the seconds each
fit round took on the server's clock (all clients included) and the bytes each client sent and
received per round, counted at the grid as Flower's protobuf messages. `mpksa demo` and the
benchmarks call it; it asserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import Context, Message, RecordDict
from flwr.client.mod import secaggplus_mod
from flwr.clientapp.typing import Mod
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.serde import message_to_proto
from flwr.compat.common import recorddict_compat as compat
from flwr.server import ServerConfig
from flwr.server.compat import LegacyContext
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.server.workflow.default_workflows import default_fit_workflow
from flwr.serverapp import Grid, ServerApp
from flwr.supercore.run import Run

from mpksa.errors import ParameterError

from . import synthetic
from .local import LocalGrid
from .mod import MpksaMod
from .workflow import MpksaWorkflow

METHODS = ("plaintext", "mpksa", "secagg+")


@dataclass
class Measurement:
    """One method on one job: seconds per fit round, bytes per client and round, the final model."""

    method: str
    clients: int
    dim: int
    seconds: list[float] = field(default_factory=list)
    bytes_up: float = 0.0  # per client and round, client to server
    bytes_down: float = 0.0  # per client and round, server to client
    model: list[np.ndarray] = field(default_factory=list)


class MeteredGrid(Grid):
    """A Grid that counts the protobuf bytes of every message it carries, per node and direction."""

    def __init__(self, inner: Grid) -> None:
        self.inner = inner
        self.up: dict[int, int] = {}
        self.down: dict[int, int] = {}

    def _count(self, book: dict[int, int], node: int, message: Message) -> None:
        book[node] = book.get(node, 0) + message_to_proto(message).ByteSize()

    def set_run(self, run: Run) -> None:
        self.inner.set_run(run)

    @property
    def run(self) -> Run:
        return self.inner.run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return self.inner.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self.inner.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        messages = list(messages)
        for m in messages:
            self._count(self.down, m.metadata.dst_node_id, m)
        return self.inner.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        replies = list(self.inner.pull_messages(message_ids))
        for m in replies:
            self._count(self.up, m.metadata.src_node_id, m)
        return replies

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        messages = list(messages)
        for m in messages:
            self._count(self.down, m.metadata.dst_node_id, m)
        replies = list(self.inner.send_and_receive(messages, timeout=timeout))
        for m in replies:
            self._count(self.up, m.metadata.src_node_id, m)
        return replies


class Timed:
    """A fit workflow that records how long each call took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds: list[float] = []

    def __call__(self, grid: Grid, context: Context) -> None:
        start = time.perf_counter()
        self.inner(grid, context)
        self.seconds.append(time.perf_counter() - start)


def parts(method: str, params: str, allow_insecure: bool, secagg_shares: int | float,
          secagg_threshold: int | float, timeout: float | None) -> tuple[list[Mod], Any]:
    """The client mods and the server's fit workflow of a method."""
    if method == "plaintext":
        return [], default_fit_workflow
    if method == "mpksa":
        return [MpksaMod(allow_insecure=allow_insecure)], MpksaWorkflow(params, timeout=timeout)
    if method == "secagg+":
        return [secaggplus_mod], SecAggPlusWorkflow(secagg_shares, secagg_threshold, timeout=timeout)
    raise ParameterError(f"method {method!r}: choose among {', '.join(METHODS)}")


def measure(method: str, *, clients: int = 10, dim: int = 1000, rounds: int = 2, engine: str = "local",
            params: str = "v1-rsa2048-short", allow_insecure: bool = False, secagg_shares: int | float = 1.0,
            secagg_threshold: int | float = 0.5, timeout: float | None = None, seed: int | None = None,
            backend_config: dict | None = None) -> Measurement:
    """Run `rounds` fit rounds of FedAvg over `clients` synthetic clients with a `dim`-parameter model.

    engine: "local" (LocalGrid, in this thread; `seed` fixes its node ids, hence the updates) or
    "simulation" (Flower's simulation engine, Ray).
    SecAgg+ defaults to every client sharing with every other (num_shares = 1.0 of the clients)
    and a threshold of half of them.
    """
    mods, fit = parts(method, params, allow_insecure, secagg_shares, secagg_threshold, timeout)
    timed = Timed(fit)
    app = synthetic.client_app(mods)
    initial = [np.zeros(dim, dtype=np.float32)]
    result = Measurement(method, clients, dim)

    def main(grid: Grid, context: Context) -> None:
        metered = MeteredGrid(grid)
        strategy = FedAvg(initial_parameters=ndarrays_to_parameters(initial), fraction_evaluate=0.0,
                          min_fit_clients=clients, min_available_clients=clients,
                          on_fit_config_fn=lambda r: {"server-round": r})
        legacy = LegacyContext(context, config=ServerConfig(num_rounds=rounds), strategy=strategy)
        DefaultWorkflow(fit_workflow=timed)(metered, legacy)
        result.bytes_up = sum(metered.up.values()) / (clients * rounds)
        result.bytes_down = sum(metered.down.values()) / (clients * rounds)
        params_record = legacy.state.array_records["parameters"]
        result.model = parameters_to_ndarrays(compat.arrayrecord_to_parameters(params_record, keep_input=True))

    if engine == "local":
        grid = LocalGrid(app, clients, seed=seed)
        main(grid, Context(grid.run.run_id, 0, {}, RecordDict(), {}))
    elif engine == "simulation":
        from flwr.simulation import run_simulation

        server = ServerApp()
        server.main()(main)
        run_simulation(server_app=server, client_app=app, num_supernodes=clients,
                       backend_config=backend_config or {"client_resources": {"num_cpus": 1}})
    else:
        raise ParameterError(f"engine {engine!r}: choose 'local' or 'simulation'")
    result.seconds = timed.seconds
    return result
