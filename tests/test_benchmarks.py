"""The benchmarks run end to end on tiny sizes: every contender measured or reported skipped, exact
sums, bytes that match the ciphertext counts, JSON of the documented shape. No timing is asserted.

The quick commands are the ones README.md and benchmarks/README.md show; they run concurrently
here (the figures are not looked at, only their presence and the exactness fields).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
QUICK_COMMANDS = ("python benchmarks/peers.py --quick", "python benchmarks/scaling.py --quick",
                  "python benchmarks/bench_aggregation.py --quick", "python benchmarks/bench_v2.py --quick",
                  "python benchmarks/bench_flower.py --quick", "python benchmarks/bench_hardening.py --quick")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLIENTS, FRAC_BITS, QUICK_D = 10, 16, 300
# Peers whose library may be absent (the `bench` extra): then they must be reported skipped.
OPTIONAL = {"phe-paillier": "phe", "tenseal-ckks": "tenseal"}


def run_commands(commands: list[list[str]], env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for c in commands]
    done = []
    for proc, command in zip(procs, commands):
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(command, proc.returncode, out, err))
    return done


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Runs the quick commands (as shown in the READMEs) with --out in a temporary folder."""
    out = tmp_path_factory.mktemp("bench")
    commands = [[sys.executable, *c.split()[1:], "--out", str(out)] for c in QUICK_COMMANDS]
    for proc in run_commands(commands):
        assert proc.returncode == 0, f"{proc.args}: {proc.stderr[-3000:]}"
    return {"peers": out / "peers-quick.json", "scaling": out / "scaling-quick.json",
            "aggregation": out / "bench_aggregation-quick.json", "v2": out / "bench_v2-quick.json",
            "flower": out / "bench_flower-quick.json", "folder": out}


def test_readmes_show_only_commands_the_tests_run() -> None:
    shown = set()
    for readme in (ROOT / "README.md", BENCH / "README.md", ROOT / "flower" / "README.md"):
        text = readme.read_text()
        shown |= {m.strip() for m in re.findall(r"^\s*(python benchmarks/[^\n#]*?)\s*(?:#.*)?$", text, re.M)}
        shown |= {m.strip() for m in re.findall(r"`(python benchmarks/[^`]*)`", text)}
    assert shown, "the READMEs show no benchmark command"
    assert shown <= set(QUICK_COMMANDS), f"commands shown but not run by a test: {shown - set(QUICK_COMMANDS)}"


def test_peers_json_has_its_shape(quick: dict[str, Path]) -> None:
    result = json.loads(quick["peers"].read_text())
    jsonschema.validate(result, json.loads((BENCH / "schema" / "peers.schema.json").read_text()))
    assert result["mode"] == "quick"
    assert result["workload"]["clients"] == CLIENTS and result["workload"]["parameters"] == [QUICK_D]
    assert all(len(load) == 3 for load in (result["load_average_before"], result["load_average_after"]))
    assert (quick["folder"] / "peers-quick.png").read_bytes().startswith(PNG_MAGIC)


def test_committed_results_have_the_shape_of_a_run() -> None:
    schema = json.loads((BENCH / "schema" / "peers.schema.json").read_text())
    committed = sorted((BENCH / "results").glob("peers*.json"))
    assert committed, "no committed peers results"
    for path in committed:
        jsonschema.validate(json.loads(path.read_text()), schema)


def test_every_contender_is_measured_or_skipped_with_a_reason(quick: dict[str, Path]) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from contenders import CONTENDERS
    finally:
        sys.path.remove(str(BENCH))
    result = json.loads(quick["peers"].read_text())
    status = {c["name"]: c for c in result["contenders"]}
    assert set(status) == set(CONTENDERS)
    for name, entry in status.items():
        library = OPTIONAL.get(name)
        if library and importlib.util.find_spec(library) is None:
            assert entry["status"] == "skipped" and library in entry["reason"]
        else:
            assert entry["status"] == "ok", entry
            assert entry["trust"]


def results_by_name(path: Path) -> dict[str, dict]:
    return {r["contender"]: r for r in json.loads(path.read_text())["results"] if r["status"] == "ok"}


def test_decoded_sums_are_exact_up_to_the_fixed_point(quick: dict[str, Path]) -> None:
    rows = results_by_name(quick["peers"])
    # Rounding each of CLIENTS values to 2^-16 moves the sum by at most CLIENTS * 2^-17.
    fixed_point_bound = CLIENTS * 2.0 ** -(FRAC_BITS + 1) * (1 + 1e-9)
    for name in ("mpksa-v1", "mpksa-v2", "mpksa-v1-ct", "mpksa-v2-ct", "packed-paillier-full",
                 "packed-paillier-fixed-base", "phe-paillier"):
        if name in rows:
            assert rows[name]["exact_integer_sum"] is True, name
            assert 0 < rows[name]["max_abs_error"] <= fixed_point_bound, name
    assert rows["plaintext-float32"]["max_abs_error"] < 1e-5 and rows["plaintext-float32"]["exact_integer_sum"] is None
    if "tenseal-ckks" in rows:
        assert rows["tenseal-ckks"]["max_abs_error"] < 1e-4
    # The printed scheme decrypts a wrong sum (finding E1): the benchmark must show it.
    assert rows["mpksa-paper"]["exact_integer_sum"] is False and rows["mpksa-paper"]["max_abs_error"] > 1


def test_bytes_match_the_serialized_objects(quick: dict[str, Path]) -> None:
    """Bytes per parameter from first principles: element sizes times element counts."""
    rows = results_by_name(quick["peers"])
    d = QUICK_D
    slot_bits = (CLIENTS * 2 * 2**FRAC_BITS).bit_length()       # 2^b > |S| * 2V, V = 2^16
    segments = math.ceil((d + 1) / (2047 // slot_bits))          # d values and the weight slot
    element = 512                                                # an element of Z*_{n^2}, |n| = 2048
    assert rows["plaintext-float32"]["bytes_up_per_param"] == 4
    assert rows["plaintext-float32"]["bytes_down_per_param"] == 4
    if "phe-paillier" in rows:
        assert rows["phe-paillier"]["bytes_up_per_param"] == element
    for name in ("packed-paillier-full", "packed-paillier-fixed-base"):
        assert rows[name]["bytes_up_per_param"] == pytest.approx(segments * element / d)
        assert rows[name]["bytes_down_per_param"] == pytest.approx(segments * element / d)
    v1 = rows["mpksa-v1"]
    # Up: E1 and E2 (3 elements) plus the response T (1) per segment. Down: pk_S, the challenge
    # (1 per segment), the sealed float32 model (nonce 12 + 4d + tag 16).
    assert v1["bytes_up_per_param"] == pytest.approx(4 * segments * element / d)
    assert v1["bytes_down_per_param"] == pytest.approx((element * (1 + segments) + 12 + 4 * d + 16) / d)
    v2 = rows["mpksa-v2"]
    # Up: the carrier E_i01, one C_ij per segment, the carrier's pair, and one response T_i0.
    # Down: pk_S, the one challenge R_0 and the sealed float32 model.
    assert v2["bytes_up_per_param"] == pytest.approx((segments + 4) * element / d)
    assert v2["bytes_down_per_param"] == pytest.approx((element * 2 + 12 + 4 * d + 16) / d)
    if "tenseal-ckks" in rows:
        # One ciphertext (d <= 4096): two polynomials of 8192 coefficients mod a 140-bit modulus
        # (60 + 40 + 40 bits; the last 60-bit prime is dropped), about 287 kB, compressed a little.
        one = rows["tenseal-ckks"]["bytes_up_per_param"] * d
        assert 2 * 8192 * 100 / 8 < one < 2 * 8192 * 200 / 8


def test_sliced_contender_says_so_and_bounds_are_cpu_ratios(quick: dict[str, Path]) -> None:
    rows = results_by_name(quick["peers"])
    if "phe-paillier" in rows:
        assert rows["phe-paillier"]["scaled_from"] is not None and rows["phe-paillier"]["scaled_from"] < QUICK_D
    assert rows["mpksa-v1"]["scaled_from"] is None
    bound = rows["mpksa-v1"]["bound"]
    assert set(bound) == {"client", "server"}
    assert bound["client"]["exponentiations_per_unit"] == 5 and bound["server"]["exponentiations_per_unit"] == 1
    # Fixed-base tables price Enc's 4 powers below a plain powmod: the method bound is the lower one.
    assert bound["client"]["method_bound_us_per_param"] < bound["client"]["plain_bound_us_per_param"]


def test_targets_name_v1_and_v2_on_both_engines(quick: dict[str, Path]) -> None:
    targets = json.loads(quick["peers"].read_text())["targets"]
    ours_all = {"mpksa-v1", "mpksa-v2", "mpksa-v1-ct", "mpksa-v2-ct"}
    assert {t["contender"] for t in targets} == ours_all
    for ours in ours_all:
        rows = [t for t in targets if t["contender"] == ours and t["peer"] == "packed-paillier-fixed-base"]
        assert rows and all(isinstance(t["ratio"], float) for t in rows)


def test_v2_benchmark_measures_both_engines_and_reports_the_issue_targets(quick: dict[str, Path]) -> None:
    result = json.loads(quick["v2"].read_text())
    assert result["mode"] == "quick"
    rounds = result["rounds"] + result["big_round"]
    assert {(r["contender"], r["engine"]) for r in result["rounds"]} == {
        (c, e) for c in ("mpksa-v1", "mpksa-v2") for e in ("constant-time", "variable-time")}
    assert all(r["status"] == "ok" and r["exact_integer_sum"] is True for r in rounds)
    derivation = result["derivation"]
    assert derivation["cold"] and derivation["warm load (read, digest, spot check)"]["derived"] == 0
    assert derivation["bases (both engines)"]["cpu_s"] > 0
    options = result["engine_options"]["ms"]
    assert any(k.startswith("powmod_sec r_i") for k in options) and any(k.startswith("comb r_i over 4") for k in options)
    measures = {(t["target"].split(" <=")[0].split(" at most")[0], t["measure"]) for t in result["targets"]}
    assert ("client CPU per parameter", "v2 constant-time / v1 constant-time") in measures
    assert ("server CPU per parameter", "v2 variable-time / v1 variable-time") in measures
    # Bytes from first principles: u data segments plus 4 elements (carrier, its pair, the response) up.
    (v2,) = [r for r in result["rounds"] if r["contender"] == "mpksa-v2" and r["engine"] == "constant-time"]
    d = result["workload"]["targets_parameters"]
    u = math.ceil((d + 1) / (2047 // (CLIENTS * 2 * 2**FRAC_BITS).bit_length()))
    assert v2["bytes_up_per_param"] == pytest.approx((u + 4) * 512 / d)
    # The big round's 60-second target is judged only at the issue's size, never at the quick one.
    assert all(t["met"] is None for t in result["targets"] if "under 60 s" in t["target"])


def test_scaling_fits_a_slope_on_each_axis(quick: dict[str, Path]) -> None:
    result = json.loads(quick["scaling"].read_text())
    assert result["mode"] == "quick"
    axes = {(s["contender"], s["axis"]): s for s in result["series"]}
    for axis in ("parameters", "clients"):
        series = axes[("mpksa-v1", axis)]
        assert len(series["points"]) >= 2 and isinstance(series["slope_round_cpu"], float)
        assert all(p["round_cpu_s"] > 0 for p in series["points"])
    assert (quick["folder"] / "scaling-quick.png").read_bytes().startswith(PNG_MAGIC)


def test_aggregation_benchmark_reports_cpu_ratios(quick: dict[str, Path]) -> None:
    result = json.loads(quick["aggregation"].read_text())
    (row,) = result["rows"]
    assert row["fast_exact"] is True and row["reference_same_ciphertext"] is True
    assert set(row["fast_cpu_over_bound"]) == set(row["fast_cpu_over_method_bound"]) >= {"client", "server"}
    assert "fast_over_bound" not in row  # no wall-clock-over-CPU ratio


def test_flower_benchmark_runs_three_methods_in_one_simulation(quick: dict[str, Path]) -> None:
    result = json.loads(quick["flower"].read_text())
    assert result["mode"] == "quick" and result["job"]["engine"] == "simulation"
    mpksa = result["job"]["mpksa_profile"]
    assert mpksa == "v2" and list(result["methods"]) == ["plaintext", "v2", "secagg+"]
    for row in result["methods"].values():
        assert len(row["seconds_per_round"]) == 1 and row["model_moved"] == [True]
        assert row["peak_pss_tree_bytes"] > 0 and row["peak_rss_tree_bytes"] >= row["peak_pss_tree_bytes"]
    (round_1,) = result["methods"][mpksa]["mpksa_rounds"]
    assert round_1["outcome"] == "aggregated" and round_1["exact"] is True and round_1["clients"] == 4
    # Ray's daemons and workers are in the tree: far more than this process alone.
    assert result["memory"]["samples"] > 1 and result["memory"]["peak_rss_tree_bytes"] > 200e6
    assert set(result["ratios"]) == {f"{mpksa}_over_{peer}_{what}" for peer in ("plaintext", "secagg+")
                                     for what in ("seconds", "bytes_up")}


def test_committed_flower_result_is_the_issue_target() -> None:
    """benchmarks/results/bench_flower.json: 100 clients, 100,000 parameters, a v2 round decrypted exactly."""
    result = json.loads((BENCH / "results" / "bench_flower.json").read_text())
    assert result["mode"] == "full" and result["job"]["engine"] == "simulation"
    assert (result["job"]["clients"], result["job"]["parameters"], result["job"]["mpksa_profile"]) == (100, 100_000, "v2")
    assert list(result["methods"]) == ["plaintext", "v2", "secagg+"]
    (round_1,) = result["methods"]["v2"]["mpksa_rounds"]
    assert (round_1["outcome"], round_1["clients"], round_1["exact"]) == ("aggregated", 100, True)
    assert all(row["model_moved"] == [True] for row in result["methods"].values())


def test_a_peer_that_does_not_import_is_reported_skipped(tmp_path: Path) -> None:
    """tests/fixtures/no_phe shadows `phe` with a package that fails to import."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FIXTURES / "no_phe"), os.environ.get("PYTHONPATH", "")])}
    (proc,) = run_commands([[sys.executable, "benchmarks/peers.py", "--quick", "--contenders",
                             "plaintext-float32,phe-paillier", "--out", str(tmp_path)]], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "peers-quick.json").read_text())
    (phe,) = [c for c in result["contenders"] if c["name"] == "phe-paillier"]
    assert phe["status"] == "skipped" and "does not import" in phe["reason"]
    (row,) = [r for r in result["results"] if r["contender"] == "phe-paillier"]
    assert row["status"] == "skipped"
    assert [t["note"] for t in result["targets"] if t["peer"] == "phe-paillier"][0].startswith("not measured")


def test_a_crashing_contender_is_reported_failed() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import harness
    finally:
        sys.path.remove(str(BENCH))
    out = harness.measure_in_subprocess({"contender": "no-such-contender", "parameters": 10, "slice": "quick",
                                         "clients": 2, "seed": 0, "repeats": 1})
    assert out["status"] == "failed" and "KeyError" in out["reason"]


def test_the_full_run_is_the_documented_one() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import peers
    finally:
        sys.path.remove(str(BENCH))
    args = peers.parse_args([])
    assert (args.sizes, args.repetitions, args.clients, args.mode) == ([10_000, 100_000, 1_000_000], 3, 10, "full")
