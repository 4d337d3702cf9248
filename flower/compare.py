"""One FedAvg job several ways on Flower, in one run: plaintext, MPKSA v1 and v2, Flower's SecAgg+.

`compare` runs the methods one after the other on the same grid (the in-process `LocalGrid`, or
Flower's simulation engine on Ray, started once for all of them), with the same ClientApp: a
`MethodRouter` mod inside it hands each TRAIN message to the method's client mod (`MpksaMod` for
MPKSA's stages, `secaggplus_mod` for SecAgg+'s; plaintext fit messages go straight to the
ClientApp). Before the first method every node answers one evaluation message, untimed, so that
no method pays for starting the nodes. Each method gets a fresh server context and strategy and
runs Flower's `DefaultWorkflow` with its fit workflow: Flower's default (plaintext),
`MpksaWorkflow` (v1, v2) or `SecAggPlusWorkflow`.

Per method and fit round it records the seconds the round took on the server's clock (all
clients included) and the bytes each client sent and received, counted at the grid as Flower's
protobuf messages and averaged over the clients the round reached. `measure` is the synthetic
job of `mpksa.flower.synthetic` for one method. The demo and the benchmarks call these; they
assert nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import Context, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable, Mod
from flwr.common import EvaluateIns, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS
from flwr.common.serde import message_to_proto
from flwr.compat.common import recorddict_compat as compat
from flwr.server import ServerConfig
from flwr.server.compat import LegacyContext
from flwr.server.strategy import FedAvg, Strategy
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_PARAMS_RECORD
from flwr.server.workflow.default_workflows import default_fit_workflow
from flwr.serverapp import Grid, ServerApp
from flwr.supercore.run import Run

from mpksa.encoding import Encoding
from mpksa.errors import ParameterError

from . import records as r
from . import synthetic
from .local import LocalGrid
from .mod import MpksaMod
from .workflow import DEFAULT_ENCODING, DEFAULT_PARAMS, MpksaWorkflow

METHODS = ("plaintext", "v1", "v2", "secagg+")
DEFAULT_SETS = {"v1": "v1-rsa2048-short", "v2": DEFAULT_PARAMS}
ENGINES = ("local", "simulation")


@dataclass
class Measurement:
    """One method on one job: per fit round the seconds and the bytes per client, the final model."""

    method: str
    clients: int
    dim: int
    seconds: list[float] = field(default_factory=list)
    up: list[float] = field(default_factory=list)  # per round: bytes per client, client to server
    down: list[float] = field(default_factory=list)  # per round: bytes per client, server to client
    moved: list[bool] = field(default_factory=list)  # per round: whether the global model changed
    model: list[np.ndarray] = field(default_factory=list)
    workflow: MpksaWorkflow | None = None  # MPKSA: its rounds, attempts and decrypted sums

    @property
    def bytes_up(self) -> float:
        """Bytes per client and round, client to server, over all rounds."""
        return float(np.mean(self.up)) if self.up else 0.0

    @property
    def bytes_down(self) -> float:
        return float(np.mean(self.down)) if self.down else 0.0


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


RoundCallback = Callable[[str, int, float, float, float], None]
"""on_round(method, server round, seconds, bytes up per client, bytes down per client)."""


class Timed:
    """A fit workflow that records, per call, its seconds, the bytes per client it moved, and whether
    the global model changed."""

    def __init__(self, method: str, inner: Any, result: Measurement, on_round: RoundCallback | None) -> None:
        self.method, self.inner, self.result, self.on_round = method, inner, result, on_round

    def __call__(self, grid: Grid, context: Context) -> None:
        assert isinstance(grid, MeteredGrid)
        up, down = dict(grid.up), dict(grid.down)
        before = model_bytes(context)
        start = time.perf_counter()
        self.inner(grid, context)
        seconds = time.perf_counter() - start
        self.result.moved.append(model_bytes(context) != before)
        sent = {n: b - up.get(n, 0) for n, b in grid.up.items() if b > up.get(n, 0)}
        received = {n: b - down.get(n, 0) for n, b in grid.down.items() if b > down.get(n, 0)}
        reached = max(len(received), 1)
        self.result.seconds.append(seconds)
        self.result.up.append(sum(sent.values()) / reached)
        self.result.down.append(sum(received.values()) / reached)
        if self.on_round:
            self.on_round(self.method, len(self.result.seconds), seconds, self.result.up[-1], self.result.down[-1])


def model_bytes(context: Context) -> bytes:
    """The global model of a legacy context, as bytes."""
    record = context.state.array_records[MAIN_PARAMS_RECORD]
    return b"".join(array.data for array in record.values())


class MethodRouter:
    """The client mod of a comparison: MPKSA's stages to `MpksaMod`, SecAgg+'s to `secaggplus_mod`,
    anything else (plaintext fit, evaluation) to the ClientApp. For comparisons only: a deployed
    client installs one method's mod, which refuses the others."""

    def __init__(self, mpksa: MpksaMod) -> None:
        self.mpksa = mpksa

    def __call__(self, msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
        if msg.metadata.message_type == MessageType.TRAIN and msg.has_content():
            records = msg.content.config_records
            if r.CONFIG in records:
                return self.mpksa(msg, ctxt, call_next)
            if RECORD_KEY_CONFIGS in records:
                return secaggplus_mod(msg, ctxt, call_next)
        return call_next(msg, ctxt)


def fit_workflow(method: str, params: dict[str, str], encoding: Encoding, hardened: bool, timeout: float | None,
                 secagg: dict[str, Any], workers: int | None) -> Any:
    """The server's fit workflow of a method."""
    if method == "plaintext":
        return default_fit_workflow
    if method in ("v1", "v2"):
        return MpksaWorkflow(params[method], encoding=encoding, timeout=timeout, hardened=hardened, workers=workers)
    if method == "secagg+":
        return SecAggPlusWorkflow(secagg["shares"], secagg["threshold"], max_weight=secagg["max_weight"], timeout=timeout)
    raise ParameterError(f"method {method!r}: choose among {', '.join(METHODS)}")


def compare(methods: Sequence[str], client_app: Callable[[Mod], ClientApp], strategy: Callable[[str], Strategy], *,
            clients: int, rounds: int, engine: str = "local", params: dict[str, str] | None = None,
            encoding: Encoding = DEFAULT_ENCODING, hardened: bool = False, allow_insecure: bool = False,
            timeout: float | None = None, secagg_shares: int | float = 1.0, secagg_threshold: int | float = 0.5,
            secagg_max_weight: float = 1000.0, workers: int | None = None,
            seed: int | None = None, backend_config: dict | None = None,
            on_round: RoundCallback | None = None) -> dict[str, Measurement]:
    """Run `rounds` fit rounds of each method, in order, over `clients` nodes of one grid.

    `client_app(router)` builds the ClientApp with the router as its innermost mod; `strategy(method)`
    a fresh strategy for each method, FedAvg or a relative whose `initial_parameters` fix the model.
    engine: "local" (LocalGrid, in this thread; `seed` fixes its node ids) or "simulation" (Flower's
    simulation engine, Ray; `backend_config` is passed to it). `params`: the parameter set of v1 and
    of v2 (DEFAULT_SETS); `encoding`, `hardened`, `timeout` and `workers` go to MpksaWorkflow.
    SecAgg+ defaults to every client sharing with every other (num_shares = 1.0 of the clients), a
    threshold of half of them, and `secagg_max_weight` (its bound on num_examples) 1000.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ParameterError(f"methods {list(methods)}: choose among {', '.join(METHODS)}")
    if engine not in ENGINES:
        raise ParameterError(f"engine {engine!r}: choose among {', '.join(ENGINES)}")
    sets = DEFAULT_SETS | (params or {})
    secagg = {"shares": secagg_shares, "threshold": secagg_threshold, "max_weight": secagg_max_weight}
    fits = {m: fit_workflow(m, sets, encoding, hardened, timeout, secagg, workers) for m in methods}
    app = client_app(MethodRouter(MpksaMod(allow_insecure=allow_insecure, hardened=hardened)))
    results: dict[str, Measurement] = {}

    def main(grid: Grid, context: Context) -> None:
        nodes = wait_for_nodes(grid, clients)
        for method in methods:
            fresh = Context(context.run_id, context.node_id, context.node_config, RecordDict(), context.run_config)
            legacy = LegacyContext(fresh, config=ServerConfig(num_rounds=rounds), strategy=strategy(method))
            initial = getattr(legacy.strategy, "initial_parameters", None)  # read, not consumed
            if initial is None:
                raise ParameterError("the strategy must hold the initial parameters (FedAvg's initial_parameters)")
            if not results:
                warm_up(grid, nodes, initial)
            arrays = parameters_to_ndarrays(initial)
            result = Measurement(method, clients, int(sum(a.size for a in arrays)))
            fit = fits[method]
            result.workflow = fit if isinstance(fit, MpksaWorkflow) else None
            metered = MeteredGrid(grid)
            DefaultWorkflow(fit_workflow=Timed(method, fit, result, on_round))(metered, legacy)
            final = legacy.state.array_records[MAIN_PARAMS_RECORD]
            result.model = parameters_to_ndarrays(compat.arrayrecord_to_parameters(final, keep_input=True))
            results[method] = result

    if engine == "local":
        grid = LocalGrid(app, clients, seed=seed)
        main(grid, Context(grid.run.run_id, 0, {}, RecordDict(), {}))
    else:
        from flwr.simulation import run_simulation

        server = ServerApp()
        server.main()(main)
        run_simulation(server_app=server, client_app=app, num_supernodes=clients,
                       backend_config=backend_config or {"client_resources": {"num_cpus": 1}})
        missing = [m for m in methods if m not in results]
        if missing:  # run_simulation logs the ServerApp's exception instead of raising it
            raise RuntimeError(f"the simulation ended without results for {', '.join(missing)}; see its log")
    return results


def wait_for_nodes(grid: Grid, count: int, limit: float = 600.0) -> list[int]:
    """The node ids once `count` nodes have registered (simulated nodes register while the ServerApp starts)."""
    deadline = time.monotonic() + limit
    while True:
        nodes = sorted(grid.get_node_ids())
        if len(nodes) >= count:
            return nodes
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(nodes)} of {count} nodes registered within {limit} s")
        time.sleep(0.2)


def warm_up(grid: Grid, nodes: list[int], parameters: Any) -> None:
    """One evaluation message per node, untimed: every node starts its ClientApp once."""
    content = compat.evaluateins_to_recorddict(EvaluateIns(parameters, {}), keep_input=True)
    messages = [Message(content, node, MessageType.EVALUATE, group_id="warm-up") for node in nodes]
    list(grid.send_and_receive(messages))


def synthetic_strategy(clients: int, dim: int) -> Callable[[str], Strategy]:
    """FedAvg over all `clients` from a zero model of `dim` parameters, rounds numbered in the fit config."""
    initial = ndarrays_to_parameters([np.zeros(dim, dtype=np.float32)])

    def make(method: str) -> Strategy:
        return FedAvg(initial_parameters=initial, fraction_evaluate=0.0, min_fit_clients=clients,
                      min_available_clients=clients, on_fit_config_fn=lambda r: {"server-round": r},
                      fit_metrics_aggregation_fn=lambda _: {})

    return make


def measure(method: str, *, clients: int = 10, dim: int = 1000, rounds: int = 2, engine: str = "local",
            params: str | None = None, **options: Any) -> Measurement:
    """Run `rounds` fit rounds of FedAvg over `clients` synthetic clients with a `dim`-parameter model,
    by one method; `params` names the parameter set of v1 or v2; `options` go to `compare`."""
    sets = {method: params} if params else None
    return compare([method], lambda router: synthetic.client_app([router]), synthetic_strategy(clients, dim),
                   clients=clients, rounds=rounds, engine=engine, params=sets, **options)[method]
