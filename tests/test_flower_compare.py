"""The comparison runner: plaintext FedAvg, MPKSA and Flower's SecAgg+ on one job, one grid."""

from __future__ import annotations

import numpy as np

from fixtures.flower_harness import PARAMS  # sets the Flower environment first

from mpksa.flower.compare import measure
from mpksa.params import parameter_set


def test_three_methods_reach_the_same_model_and_mpksa_bytes_are_its_elements():
    job = dict(clients=4, dim=300, rounds=2, params=PARAMS, allow_insecure=True, seed=11)
    runs = {m: measure(m, **job) for m in ("plaintext", "mpksa", "secagg+")}
    for run in runs.values():
        assert len(run.seconds) == 2 and run.bytes_up > 0 and run.bytes_down > 0
    plain = runs["plaintext"].model[0]
    assert not np.allclose(plain, 0)
    # MPKSA quantizes updates with 2^-16 steps, SecAgg+ models with 16 / 2^22; plaintext is float32.
    assert np.abs(runs["mpksa"].model[0] - plain).max() < 1e-4
    assert np.abs(runs["secagg+"].model[0] - plain).max() < 1e-4
    # Per client and round, MPKSA sends pk_i, 3 elements per segment and 1 response per segment.
    width = (parameter_set(PARAMS).n2.bit_length() + 7) // 8
    slot_bits = (100 * 2 * 10_000 * 2 * 2**16).bit_length()  # the workflow's default encoding
    segments = -(-(300 + 1) // ((parameter_set(PARAMS).n.bit_length() - 1) // slot_bits))
    elements = (1 + 4 * segments) * width
    assert elements < runs["mpksa"].bytes_up < elements + 3000
    assert runs["plaintext"].bytes_up < runs["mpksa"].bytes_up
