"""MPKSA on Flower's simulation engine (Ray): 10 clients, 2 rounds, the exact plaintext sums.

The ServerApp runs in a thread of this process, so the workflow's records are read directly; the
ClientApps run in Ray actors, each node keeping its key pair in its context between rounds.
"""

from __future__ import annotations

import pytest

from fixtures.flower_harness import check_exact, strategy, workflow  # sets the Flower environment first

from flwr.app import Context
from flwr.server import ServerConfig
from flwr.server.compat import LegacyContext
from flwr.server.workflow import DefaultWorkflow
from flwr.serverapp import Grid, ServerApp
from flwr.simulation import run_simulation

from mpksa.flower import MpksaMod, synthetic

pytestmark = pytest.mark.runtime


def test_ten_clients_two_rounds_on_ray_decrypt_to_the_plaintext_sums():
    wf = workflow(timeout=120)
    server = ServerApp()

    @server.main()
    def main(grid: Grid, context: Context) -> None:
        legacy = LegacyContext(context, config=ServerConfig(num_rounds=2), strategy=strategy(10))
        DefaultWorkflow(fit_workflow=wf)(grid, legacy)

    run_simulation(server_app=server, client_app=synthetic.client_app([MpksaMod(allow_insecure=True)]),
                   num_supernodes=10,
                   backend_config={"client_resources": {"num_cpus": 1}, "init_args": {"num_cpus": 2}})

    assert [rec.server_round for rec in wf.rounds] == [1, 2]
    for rec in wf.rounds:
        assert len(rec.attempts) == 1 and rec.final.failures == []
        assert len(rec.final.online) == 10
        check_exact(rec)
    # Each node kept its key pair in its context: round 2 brings the keys of round 1.
    assert wf.rounds[0].final.keys == wf.rounds[1].final.keys
