"""The ClientApp: local SGD on the node's partition, wrapped by MPKSA's mod."""

from __future__ import annotations

import numpy as np
from flwr.app import Context
from flwr.client import NumPyClient
from flwr.clientapp import ClientApp

from mpksa.flower import mpksa_mod

from . import task


class DigitsClient(NumPyClient):
    def __init__(self, partition_id: int, num_partitions: int) -> None:
        self.partition_id = partition_id
        self.x, self.y = task.partition(partition_id, num_partitions)

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        # Fresh batch order per round and per MPKSA attempt: a re-run after a dropout brings a new
        # update, which the re-run guard (E7) admits for the smaller set of clients.
        rng = np.random.default_rng([self.partition_id, int(config["server-round"]), int(config.get("mpksa-attempt", 1))])
        model = task.train(parameters, self.x, self.y, int(config["local-epochs"]), float(config["learning-rate"]),
                           int(config["batch-size"]), rng)
        return model, len(self.y), {}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        loss, accuracy = task.evaluate(parameters, self.x, self.y)
        return loss, len(self.y), {"accuracy": accuracy}


def client_fn(context: Context):  # type: ignore[no-untyped-def]
    partition_id = int(context.node_config["partition-id"])
    return DigitsClient(partition_id, int(context.node_config["num-partitions"])).to_client()


app = ClientApp(client_fn=client_fn, mods=[mpksa_mod])  # mods=[mpksa_mod]: the client side of MPKSA
