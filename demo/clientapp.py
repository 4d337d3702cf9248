"""The demo's clients on Flower: the small CNN trained on one share of the data (Sec. 2, phase 1).

`client_app(task, mods)` is the ClientApp every Flower mode of the demo runs, on Flower's
simulation engine (each node in a Ray worker process) or in process. Node `partition-id` i trains
on share i of the split, with the batch order of `batch_seed(seed, round, i)`, the same as the
hand-written `paper` loop; a re-run of an MPKSA round (attempt > 1) draws another order, so that the
re-run guard admits the fresh update. The `Dropouts` mod makes the clients that the schedule drops
in a round fail before they hand over an update, in every mode.

For the MPKSA modes each client also writes the update its mod encrypts (trained model minus the
model received, as float64) to the demo's scratch folder, so that the demo can check that the
server decrypted exactly the sum of the quantized, weighted updates. A deployment has no such
folder: it is the demo's witness, outside the protocol and outside the bytes counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Context, Error, Message
from flwr.app.message_type import MessageType
from flwr.client import NumPyClient
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable, Mod
from flwr.common.constant import ErrorCode
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS as SECAGG_CONFIG
from flwr.common.secure_aggregation.secaggplus_constants import Key as SecAggKey
from flwr.common.secure_aggregation.secaggplus_constants import Stage as SecAggStage

from mpksa.flower.records import CONFIG as MPKSA_CONFIG

from .config import DemoConfig

MODE_KEY = "demo-mode"  # the fit config names the demo's mode
SECAGG_STAGE, SECAGG_TRAINS = SecAggKey.STAGE, SecAggStage.COLLECT_MASKED_VECTORS


def batch_seed(seed: int, round_id: int, client: int, attempt: int = 1) -> int:
    """The seed of one client's batch order in one round: the same in every mode (attempt 1)."""
    words = [seed, round_id, client] + ([attempt] if attempt > 1 else [])
    return int(np.random.SeedSequence(words).generate_state(1)[0])


@dataclass(frozen=True)
class Task:
    """What every node needs, shipped with the ClientApp to each worker process."""

    config: DemoConfig
    witness: str  # the scratch folder of the MPKSA modes' updates


def local_data(config: DemoConfig) -> tuple[Any, list[np.ndarray]]:
    """The data set and its split over the clients, once per process (seeded: every process agrees)."""
    return _split(config.dataset, config.data_dir, config.seed, config.clients, config.split, config.alpha)


@cache
def _split(dataset_name: str, data_dir: str | None, seed: int, clients: int, how: str,
           alpha: float) -> tuple[Any, list[np.ndarray]]:
    from . import data as datasets

    dataset = datasets.load(dataset_name, data_dir, seed)
    return dataset, datasets.split(dataset.y_train, clients, how, alpha, seed)


class DemoClient(NumPyClient):
    def __init__(self, task: Task, partition: int, node: int) -> None:
        import torch

        from .model import choose_device

        self.task, self.partition, self.node = task, partition, node
        config = task.config
        if config.threads:
            torch.set_num_threads(config.threads)
        dataset, shares = local_data(config)
        self.device = choose_device(config.device)
        share = torch.as_tensor(shares[partition])
        self.x = torch.as_tensor(dataset.x_train)[share].to(self.device)
        self.y = torch.as_tensor(dataset.y_train)[share].to(self.device)
        self.shape = (dataset.channels, dataset.classes)

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        from .model import SmallCNN, TrainSettings, arrays_of, local_update, vector_of

        c = self.task.config
        round_id, attempt = int(config["server-round"]), int(config.get("mpksa-attempt", 1))
        model = SmallCNN(*self.shape, c.width).to(self.device)
        received = vector_of(parameters)
        settings = TrainSettings(c.epochs, c.lr, c.momentum, c.batch_size)
        step = local_update(model, received, self.x, self.y, settings, batch_seed(c.seed, round_id, self.partition, attempt))
        trained = arrays_of(received + step, parameters)
        if "mpksa-attempt" in config:  # the witness of what the mod encrypts: trained - received
            name = f"{config[MODE_KEY]}-r{round_id}-a{attempt}-n{self.node}-p{self.partition}.npy"
            np.save(Path(self.task.witness) / name, vector_of(trained) - received)
        return trained, len(self.y), {}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        """The untimed start-up message (the server evaluates): one throwaway training step, so that
        no mode pays for PyTorch's first backward pass in this process."""
        from .model import SmallCNN, TrainSettings, local_update, vector_of

        model = SmallCNN(*self.shape, self.task.config.width).to(self.device)
        local_update(model, vector_of(parameters), self.x[:8], self.y[:8], TrainSettings(1, 0.0, 0.0, 8), 0)
        return 0.0, len(self.y), {}


class Dropouts:
    """Mod: a client the schedule leaves out of a round answers with an error the first message of
    that round that would take its update: MPKSA's keys stage (before S is fixed: it is left out),
    plaintext FedAvg's fit message, and SecAgg+'s masked-vector stage, where SecAgg+ trains (its
    earlier stages only exchange keys; it recovers a client that leaves there from the shares).
    `online[round]` lists the partitions that take part."""

    def __init__(self, online: dict[int, list[int]]) -> None:
        self.online = online

    def __call__(self, msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
        if msg.metadata.message_type == MessageType.TRAIN and msg.metadata.group_id.isdigit():
            round_id = int(msg.metadata.group_id)
            offline = round_id in self.online and int(ctxt.node_config["partition-id"]) not in self.online[round_id]
            if offline and self.takes_update(msg):
                return Message(Error(code=ErrorCode.UNKNOWN, reason=f"dropped out of round {round_id} (demo)"),
                               reply_to=msg)
        return call_next(msg, ctxt)

    @staticmethod
    def takes_update(msg: Message) -> bool:
        records = msg.content.config_records
        if MPKSA_CONFIG in records:
            return records[MPKSA_CONFIG].get("stage") == "keys"
        if SECAGG_CONFIG in records:
            return records[SECAGG_CONFIG].get(SECAGG_STAGE) == SECAGG_TRAINS
        return True


def client_app(task: Task, mods: list[Mod]) -> ClientApp:
    def client_fn(context: Context):  # type: ignore[no-untyped-def]
        return DemoClient(task, int(context.node_config["partition-id"]), context.node_id).to_client()

    return ClientApp(client_fn=client_fn, mods=mods)
