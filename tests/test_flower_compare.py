"""The comparison runner: plaintext FedAvg, MPKSA v1 and v2 and Flower's SecAgg+ on one job, one grid."""

from __future__ import annotations

import numpy as np

from fixtures.flower_harness import PARAMS, PARAMS_V2  # sets the Flower environment first

from mpksa.flower import synthetic
from mpksa.flower.compare import compare, measure, synthetic_strategy
from mpksa.params import parameter_set


def test_four_methods_in_one_run_reach_the_same_model_and_mpksa_bytes_are_its_elements():
    clients, dim = 4, 300
    runs = compare(["plaintext", "v1", "v2", "secagg+"], lambda router: synthetic.client_app([router]),
                   synthetic_strategy(clients, dim), clients=clients, rounds=2,
                   params={"v1": PARAMS, "v2": PARAMS_V2}, allow_insecure=True, seed=11)
    assert list(runs) == ["plaintext", "v1", "v2", "secagg+"]
    for run in runs.values():
        assert len(run.seconds) == len(run.up) == len(run.down) == 2 and min(run.up) > 0 and min(run.down) > 0
    plain = runs["plaintext"].model[0]
    assert not np.allclose(plain, 0)
    # MPKSA quantizes updates with 2^-16 steps, SecAgg+ models with 16 / 2^22; plaintext is float32.
    for method in ("v1", "v2", "secagg+"):
        assert np.abs(runs[method].model[0] - plain).max() < 1e-4, method
    for method in ("v1", "v2"):
        assert [rec.outcome for rec in runs[method].workflow.rounds] == ["aggregated"] * 2
    # Per client and round MPKSA sends pk_i, its upload and its response: in v1 3 elements per
    # segment and 1 per segment, in v2 the carrier's 3 and 1 per segment, and 1.
    width = (parameter_set(PARAMS).n2.bit_length() + 7) // 8
    slot_bits = (100 * 2 * 10_000 * 2 * 2**16).bit_length()  # the workflow's default encoding
    u = -(-(dim + 1) // ((parameter_set(PARAMS).n.bit_length() - 1) // slot_bits))
    for method, elements in (("v1", 1 + 4 * u), ("v2", 1 + 3 + u + 1)):
        assert elements * width < runs[method].bytes_up < elements * width + 3000, method
    assert runs["plaintext"].bytes_up < runs["v2"].bytes_up < runs["v1"].bytes_up


def test_measure_runs_one_method_on_the_synthetic_job():
    run = measure("v1", clients=3, dim=50, rounds=1, params=PARAMS, allow_insecure=True, seed=2)
    assert run.method == "v1" and run.dim == 50 and len(run.seconds) == 1
    assert run.workflow is not None and run.workflow.rounds[0].outcome == "aggregated"
