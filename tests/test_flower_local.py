"""MPKSA on Flower, in process (LocalGrid, no Ray): exact sums, dropouts at each stage, hostile clients.

Spec 11.6 names the outcome of every failure: before S is fixed (keys stage) the client is left out;
after (upload or respond stage) the attempt aborts and the round is re-run with fresh randomness
without the clients that failed; a failed decryption aborts the attempt without naming anyone;
after `max_attempts` attempts, or with |S| < 2, the round is skipped and the model kept.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.flower_faults import Fault
from fixtures.flower_harness import SETTINGS, check_exact, final_model, initial_model, run_local

from mpksa.flower import records as r
from mpksa.round import Hardening
from mpksa.flower.workflow import CLIENT_ERROR, TIMEOUT


def nodes_of(grid, partitions):  # type: ignore[no-untyped-def]
    return [grid.node_ids[p] for p in partitions]


def test_rounds_decrypt_to_the_plaintext_sums():
    wf, context, grid = run_local(5, rounds=2)
    assert [rec.outcome for rec in wf.rounds] == ["aggregated", "aggregated"]
    for rec in wf.rounds:
        assert len(rec.attempts) == 1 and rec.final.failures == []
        assert sorted(rec.final.online) == sorted(grid.node_ids)
        check_exact(rec)
    # Each round starts from the strategy's result, FedAvg over |S| copies of the decrypted average
    # (equal to it up to rounding), and the run ends on round 2's.
    for produced, result in ((wf.rounds[0].average, wf.rounds[1].start), (wf.rounds[1].average, final_model(context))):
        assert all(np.allclose(a, b, rtol=0, atol=1e-15) for a, b in zip(produced, result))


def test_hardened_rounds_announce_keys_and_bases_and_decrypt_exactly():
    hardening = Hardening(announce_keys=True, announce_challenge=True)
    wf, _, grid = run_local(4, rounds=2, hardening=hardening, client_hardening=hardening)
    for rec in wf.rounds:
        assert rec.final.failures == [] and len(rec.final.online) == 4
        check_exact(rec)


def test_a_client_that_demands_the_hardening_refuses_a_server_without_it():
    wf, _, grid = run_local(3, client_hardening=Hardening(announce_keys=True))
    rec = wf.rounds[0]
    assert rec.outcome == "skipped"
    assert sorted((f.stage, f.code) for f in rec.attempts[0].failures) == [(r.UPLOAD, "malformed-input")] * 3


def test_bytes_on_the_wire_are_those_of_the_stage_protocol():
    wf, _, grid = run_local(3)
    assert wf.rounds[0].final.outcome == "decrypted"
    width = 128  # one element mod n^2 of v1-test-512
    slot_bits = (SETTINGS.max_clients * 2 * SETTINGS.weight_max * 2**SETTINGS.frac_bits).bit_length()  # clip = 1
    segments = -(-(17 + 1) // (511 // slot_bits))  # 17 parameters and the weight, k slots per segment
    for node in grid.node_ids:
        # Up: pk, 3 elements per segment, 1 response per segment, plus Flower's framing.
        assert (1 + 4 * segments) * width < grid.bytes_up[node] < (1 + 4 * segments) * width + 2500


@pytest.mark.parametrize("kind", ["raise", "hang"])
def test_dropout_before_s_is_fixed_leaves_the_client_out(kind):
    fault = Fault(1, r.KEYS, kind, seconds=0.6)
    wf, _, grid = run_local(4, faults=[fault], timeout=0.3)
    rec = wf.rounds[0]
    assert len(rec.attempts) == 1
    (failure,) = rec.final.failures
    assert (failure.node_id, failure.stage, failure.code) == (grid.node_ids[1], r.KEYS, CLIENT_ERROR if kind == "raise" else TIMEOUT)
    assert sorted(rec.final.online) == sorted(nodes_of(grid, [0, 2, 3]))
    check_exact(rec)


@pytest.mark.parametrize("stage", [r.UPLOAD, r.RESPOND])
@pytest.mark.parametrize("kind", ["raise", "hang"])
def test_dropout_after_s_is_fixed_aborts_and_reruns_without_the_client(stage, kind):
    fault = Fault(2, stage, kind, seconds=0.6)
    wf, _, grid = run_local(4, faults=[fault], timeout=0.3)
    rec = wf.rounds[0]
    first, second = rec.attempts
    assert first.outcome == "aborted" and len(first.online) == 4
    (failure,) = first.failures
    assert (failure.node_id, failure.stage, failure.code) == (grid.node_ids[2], stage, CLIENT_ERROR if kind == "raise" else TIMEOUT)
    assert second.failures == [] and sorted(second.online) == sorted(nodes_of(grid, [0, 1, 3]))
    check_exact(rec)


@pytest.mark.parametrize("stage, kind, code", [
    (r.KEYS, "pk-zero", "element-out-of-range"),
    (r.KEYS, "header", "stage-out-of-order"),
    (r.UPLOAD, "segments", "dimension-mismatch"),
    (r.UPLOAD, "truncate", "dimension-mismatch"),
    (r.UPLOAD, "zero", "element-out-of-range"),
    (r.UPLOAD, "non-unit", "non-unit"),
    (r.RESPOND, "truncate", "dimension-mismatch"),
    (r.RESPOND, "non-unit", "non-unit"),
    (r.RESPOND, "header", "stage-out-of-order"),
])
def test_a_client_sending_garbage_is_treated_as_dropped(stage, kind, code):
    wf, _, grid = run_local(4, faults=[Fault(0, stage, kind)])
    rec = wf.rounds[0]
    bad = grid.node_ids[0]
    failures = [f for a in rec.attempts for f in a.failures]
    assert [(f.node_id, f.stage, f.code) for f in failures] == [(bad, stage, code)]
    assert len(rec.attempts) == (1 if stage == r.KEYS else 2)
    assert bad not in rec.final.online and len(rec.final.online) == 3
    check_exact(rec)


def test_two_clients_presenting_one_key_are_both_left_out():
    faults = [Fault(1, r.KEYS, "pk-fixed"), Fault(3, r.KEYS, "pk-fixed")]
    wf, _, grid = run_local(5, faults=faults)
    rec = wf.rounds[0]
    assert sorted(f.node_id for f in rec.final.failures) == sorted(nodes_of(grid, [1, 3]))
    assert sorted(rec.final.online) == sorted(nodes_of(grid, [0, 2, 4]))
    check_exact(rec)


def test_a_forged_response_fails_decryption_and_the_rerun_succeeds():
    wf, _, _ = run_local(4, faults=[Fault(3, r.RESPOND, "forge")])
    rec = wf.rounds[0]
    first, second = rec.attempts
    # Nobody can be named without proofs: the attempt aborts with no failure, nobody is left out.
    assert first.outcome == "aborted" and first.failures == [] and first.weighted_sums is None
    assert sorted(second.online) == sorted(first.online)
    check_exact(rec)


def test_a_persistent_forger_gets_the_round_skipped_and_the_model_kept():
    wf, context, _ = run_local(3, faults=[Fault(0, r.RESPOND, "forge", attempts=(1, 2, 3))], max_attempts=3)
    rec = wf.rounds[0]
    assert rec.outcome == "skipped" and rec.reason.startswith("round-aborted")
    assert [a.outcome for a in rec.attempts] == ["aborted"] * 3
    assert all(np.array_equal(a, b) for a, b in zip(final_model(context), initial_model()))


def test_the_rerun_guard_refuses_the_same_update_for_a_smaller_set():
    # Deterministic clients send the same update again; having answered for S, they refuse S - {j} (E7).
    wf, context, grid = run_local(4, faults=[Fault(1, r.RESPOND, "raise")], fresh=False, max_attempts=2)
    rec = wf.rounds[0]
    first, second = rec.attempts
    assert [(f.node_id, f.code) for f in first.failures] == [(grid.node_ids[1], CLIENT_ERROR)]
    # The other three answered the challenge for S; for S minus partition 1 they refuse.
    assert sorted((f.node_id, f.stage, f.code) for f in second.failures) == sorted(
        (n, r.RESPOND, "rerun-refused") for n in nodes_of(grid, [0, 2, 3]))
    assert rec.outcome == "skipped"
    assert all(np.array_equal(a, b) for a, b in zip(final_model(context), initial_model()))


def test_fewer_than_two_clients_skip_the_round():
    faults = [Fault(1, r.KEYS, "raise"), Fault(2, r.KEYS, "raise")]
    wf, context, _ = run_local(3, faults=faults)
    rec = wf.rounds[0]
    assert rec.outcome == "skipped" and rec.reason.startswith("too-few-clients")
    assert rec.final.outcome == "too-few-clients" and len(rec.final.online) == 1
    assert all(np.array_equal(a, b) for a, b in zip(final_model(context), initial_model()))
