"""A synthetic ClientApp whose updates anyone can recompute: for tests and benchmarks.

Node `node_id` in round `r`, attempt `a` returns the model it received plus `update(node_id, r, a,
dim)` (uniform in [-scale, scale], seeded by node, round and attempt, so a re-run brings a fresh
update) with weight `weight(node_id)`. With `fresh=False` the attempt is ignored: the same update
again, which the re-run guard (E7) refuses for another S. A test recomputes the exact plaintext sum
of the quantized, weighted updates from these functions alone.
"""

from __future__ import annotations

import numpy as np
from flwr.app import Context
from flwr.client import NumPyClient
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import Mod


def update(node_id: int, server_round: int, attempt: int, dim: int, scale: float = 0.5) -> np.ndarray:
    """The update node `node_id` sends in round `server_round`, attempt `attempt`."""
    rng = np.random.default_rng([node_id % (1 << 63), server_round, attempt])
    return rng.uniform(-scale, scale, dim)


def weight(node_id: int) -> int:
    """|D_i| of node `node_id`: between 1 and 100."""
    return 1 + node_id % 100


class SyntheticClient(NumPyClient):
    def __init__(self, node_id: int, scale: float, fresh: bool) -> None:
        self.node_id, self.scale, self.fresh = node_id, scale, fresh

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        server_round = int(config.get("server-round", 0))
        attempt = int(config.get("mpksa-attempt", 1)) if self.fresh else 1
        dim = sum(p.size for p in parameters)
        step = update(self.node_id, server_round, attempt, dim, self.scale)
        out, start = [], 0
        for p in parameters:
            out.append(p + step[start:start + p.size].reshape(p.shape).astype(p.dtype))
            start += p.size
        return out, weight(self.node_id), {"node": float(self.node_id % 1000)}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        return 0.0, 1, {}


def client_app(mods: list[Mod] | None = None, scale: float = 0.5, fresh: bool = True) -> ClientApp:
    """A ClientApp of synthetic clients, wrapped by `mods`. Fit configs must carry 'server-round'."""

    def client_fn(context: Context):  # type: ignore[no-untyped-def]
        return SyntheticClient(context.node_id, scale, fresh).to_client()

    return ClientApp(client_fn=client_fn, mods=mods or [])
