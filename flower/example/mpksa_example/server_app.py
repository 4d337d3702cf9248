"""The ServerApp: FedAvg whose fit rounds run through MPKSA, evaluated on the held-out digits."""

from __future__ import annotations

from flwr.app import Context
from flwr.common import ndarrays_to_parameters
from flwr.server import ServerConfig
from flwr.server.compat import LegacyContext
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow
from flwr.serverapp import Grid, ServerApp

from mpksa.flower import MpksaWorkflow

from . import task

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    x_test, y_test = task.test_set()

    def evaluate(server_round, parameters, config):  # type: ignore[no-untyped-def]
        loss, accuracy = task.evaluate(parameters, x_test, y_test)
        return loss, {"accuracy": accuracy}

    def fit_config(server_round: int) -> dict:
        return {"server-round": server_round, "local-epochs": cfg["local-epochs"],
                "learning-rate": cfg["learning-rate"], "batch-size": cfg["batch-size"]}

    strategy = FedAvg(fraction_fit=1.0, fraction_evaluate=0.0, evaluate_fn=evaluate, on_fit_config_fn=fit_config,
                      min_available_clients=int(cfg["min-available-clients"]),
                      initial_parameters=ndarrays_to_parameters(task.initial_model()))
    legacy = LegacyContext(context, config=ServerConfig(num_rounds=int(cfg["num-server-rounds"])), strategy=strategy)
    timeout = float(cfg["stage-timeout"])
    # The one line that turns MPKSA on; DefaultWorkflow() alone is plaintext FedAvg.
    workflow = DefaultWorkflow(fit_workflow=MpksaWorkflow(str(cfg["mpksa-params"]), timeout=timeout))
    workflow(grid, legacy)
