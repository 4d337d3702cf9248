"""The test vectors: reproducible, schema-valid, checked against the reference (spec ch. 8).

Expected values here never come from the generator: transcripts are replayed
into `run_round` and compared with plaintext sums computed directly from the
clients' float updates.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mpksa import Client, Hardening, ops, parameter_set, run_round, setup
from mpksa.encoding import Encoding
from mpksa.errors import ERROR_CLASSES
from mpksa.randomness import ReplayRandom
from mpksa.vectors import verify as verify_mod
from mpksa.vectors.builder import canonical_json
from mpksa.vectors.flags import FLAGS
from mpksa.vectors.generate import generate
from mpksa.vectors.transcripts import replay_values
from mpksa.wire.codec import Codec, Json
from mpksa.wire.contract import encoding_from_json, params_from_json

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _vector_paths(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if "__pycache__" not in p.parts)


def _load(relative: str) -> Json:
    return json.loads((VECTORS / relative).read_text("ascii"))


def _files() -> dict[str, Json]:
    return {str(p.relative_to(VECTORS)): json.loads(p.read_text("ascii")) for p in _vector_paths(VECTORS)
            if p.parent.name != "schema" and p.name != "manifest.json"}


def _tests(data: Json) -> list[Json]:
    return [t for g in data["testGroups"] for t in g["tests"]]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vectors")
    generate(out)
    return out


def test_regeneration_is_byte_identical(regenerated: Path) -> None:
    committed = {p.relative_to(VECTORS): p.read_bytes() for p in _vector_paths(VECTORS)}
    fresh = {p.relative_to(regenerated): p.read_bytes() for p in _vector_paths(regenerated)}
    assert sorted(map(str, fresh)) == sorted(map(str, committed)), "the generator writes a different set of files"
    changed = [str(p) for p in fresh if fresh[p] != committed[p]]
    assert not changed, f"regenerate with `mpksa vectors generate`: {changed}"


def test_verify_passes_on_the_shipped_vectors() -> None:
    report = verify_mod.verify()  # importlib.resources.files("mpksa.vectors")
    assert report.ok, "\n".join(report.problems[:20])
    assert report.files >= 40 and report.tests > 700 and report.requests > report.tests


def test_vectors_stay_small() -> None:
    total = sum(p.stat().st_size for p in VECTORS.rglob("*.json"))
    assert total < 20 * 2**20


# -- schemas reject broken copies -----------------------------------------------------------------


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((VECTORS / "schema" / name).read_text("ascii"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _first_test(data: Json) -> Json:
    return data["testGroups"][0]["tests"][0]


def _break_operation(data: Json, how: str) -> None:
    test = next(t for t in _tests(data) if t["result"] == "valid" and t["op"] == "KeyGen")
    if how == "missing":
        del test["comment"]
    elif how == "extra":
        test["expected"] = test["outputs"]
    elif how == "hex":
        test["outputs"]["pk"] = test["outputs"]["pk"].upper()
    elif how == "value":
        test["result"] = "passed"


def _break_transcript(data: Json, how: str) -> None:
    test = _first_test(data)
    step = test["operations"][1]  # KeyGen of the first client
    if how == "missing":
        del step["actor"]
    elif how == "extra":
        step["note"] = "unexpected"
    elif how == "hex":
        step["outputs"]["pk"] = step["outputs"]["pk"][:-1]
    elif how == "value":
        test["result"] = "ok"


def _break_manifest(data: Json, how: str) -> None:
    entry = next(iter(data["files"].values()))
    if how == "missing":
        del entry["bytes"]
    elif how == "extra":
        data["signature"] = "none"
    elif how == "hex":
        entry["sha256"] = "g" * 64
    elif how == "value":
        data["files"]["v1/v1-test-512/../keys.json"] = dict(entry)


SCHEMA_CASES: dict[str, tuple[str, Callable[[Json, str], None]]] = {
    "operation.schema.json": ("v1/v1-test-512/keys.json", _break_operation),
    "transcript.schema.json": ("paper/paper-test/transcripts.json", _break_transcript),
    "manifest.schema.json": ("manifest.json", _break_manifest),
}


@pytest.mark.parametrize("schema_name", sorted(SCHEMA_CASES))
def test_schema_rejects_broken_copies(schema_name: str) -> None:
    relative, breaker = SCHEMA_CASES[schema_name]
    validator = _validator(schema_name)
    original = _load(relative)
    assert not list(validator.iter_errors(original)), f"{relative} must be valid against {schema_name}"
    # A missing required field, an extra property, bad hex, and a value outside its enum or pattern.
    for how in ("missing", "extra", "hex", "value"):
        broken = copy.deepcopy(original)
        breaker(broken, how)
        assert list(validator.iter_errors(broken)), f"{schema_name} accepts a copy with a {how} defect"


def test_operation_schema_checks_outputs_per_operation() -> None:
    data = _load("v1/v1-test-512/enc.json")
    test = next(t for t in _tests(data) if t["result"] == "valid")
    test["outputs"] = {"sums": test["outputs"]["ciphertext"]["e1"]}  # Dec's outputs on an Enc test
    assert list(_validator("operation.schema.json").iter_errors(data))


# -- flags ----------------------------------------------------------------------------------------


def test_flag_registry_is_closed_in_every_file() -> None:
    everywhere: set[str] = set()
    for relative, data in _files().items():
        used = {f for t in _tests(data) for f in t["flags"]}
        assert used == set(data["notes"]), relative
        assert all(data["notes"][f] == FLAGS[f].as_json() for f in used), relative
        everywhere |= used
    assert everywhere == set(FLAGS), f"registered but never used: {sorted(set(FLAGS) - everywhere)}"


def _copy_vectors(tmp_path: Path) -> Path:
    root = tmp_path / "vectors"
    shutil.copytree(VECTORS, root, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    return root


def _only(relative: str) -> Callable[[str], bool]:
    return lambda path: path == relative


def _rewrite(root: Path, relative: str, change: Callable[[Json], None]) -> None:
    data = json.loads((root / relative).read_text("ascii"))
    change(data)
    (root / relative).write_text(canonical_json(data), "ascii")


def test_verify_reports_unregistered_and_unused_flags(tmp_path: Path) -> None:
    root = _copy_vectors(tmp_path)

    def change(data: Json) -> None:
        _first_test(data)["flags"].append("Unheard")
        data["notes"]["NeverUsed"] = {"description": "x", "reference": "E1", "effect": "x"}

    _rewrite(root, "v1/v1-test-512/keys.json", change)
    problems = "\n".join(verify_mod.verify(root, recompute=False, only=_only("v1/v1-test-512/keys.json")).problems)
    assert "flag Unheard is used but not registered" in problems
    assert "flag NeverUsed is registered in notes but no test uses it" in problems


# -- manifest and recomputation -------------------------------------------------------------------


def test_verify_detects_a_manifest_mismatch(tmp_path: Path) -> None:
    root = _copy_vectors(tmp_path)
    _rewrite(root, "v1/v1-test-512/se.json", lambda d: _first_test(d).update(comment="edited by hand"))
    problems = verify_mod.verify(root, recompute=False, only=_only("v1/v1-test-512/se.json")).problems
    assert any("SHA-256 of v1/v1-test-512/se.json differs" in p for p in problems), problems


def test_verify_detects_a_wrong_expected_value(tmp_path: Path) -> None:
    root = _copy_vectors(tmp_path)

    def change(data: Json) -> None:
        test = next(t for t in _tests(data) if t["op"] == "Dec" and t["result"] == "valid")
        digit = test["outputs"]["sums"][0][-1]
        test["outputs"]["sums"][0] = test["outputs"]["sums"][0][:-1] + ("0" if digit != "0" else "1")

    _rewrite(root, "v1/v1-test-512/dec.json", change)
    problems = verify_mod.verify(root, only=_only("v1/v1-test-512/dec.json")).problems
    assert any("v1/v1-test-512/dec.json tcId" in p and "outputs differ" in p for p in problems), problems


def test_verify_detects_a_wrong_error_code_and_a_duplicate_tc_id(tmp_path: Path) -> None:
    root = _copy_vectors(tmp_path)

    def change(data: Json) -> None:
        tests = _tests(data)
        invalid = next(t for t in tests if t["result"] == "invalid")
        invalid["error"] = "non-unit" if invalid["error"] != "non-unit" else "element-out-of-range"
        tests[1]["tcId"] = tests[0]["tcId"]

    _rewrite(root, "v1/v1-test-512/agg.json", change)
    problems = "\n".join(verify_mod.verify(root, only=_only("v1/v1-test-512/agg.json")).problems)
    assert "are not unique" in problems
    assert "expected error" in problems


@pytest.mark.parametrize("name", ["v2-test-512", "v2-rsa2048"])
def test_v2_rerun_after_an_abort_is_fresh_and_verify_catches_reuse(tmp_path: Path, name: str) -> None:
    relative = f"v2/{name}/transcripts.json"
    tests = {t["tcId"]: t for t in _tests(_load(relative))}
    rerun = next(t for t in tests.values() if "FreshRerun" in t["flags"])
    aborted = tests[rerun["intermediates"]["rerun_of"]]
    assert aborted["abort"]["code"] == "round-aborted" and rerun["result"] == "valid"
    enc = [s["inputs"] for t in (aborted, rerun) for s in t["operations"] if s["op"] == "Enc"]
    masks = [i["r"] for i in enc]
    assert len(set(masks)) == len(masks)  # every client, in both rounds, its own mask exponent
    root = _copy_vectors(tmp_path)

    def reuse(data: Json) -> None:
        by_id = {t["tcId"]: t for t in _tests(data)}
        old, new = by_id[aborted["tcId"]], by_id[rerun["tcId"]]
        first_enc = next(s for s in old["operations"] if s["op"] == "Enc")
        next(s for s in new["operations"] if s["op"] == "Enc")["inputs"]["r"] = first_enc["inputs"]["r"]

    _rewrite(root, relative, reuse)
    problems = "\n".join(verify_mod.verify(root, recompute=False, only=_only(relative)).problems)
    assert "a re-run reuses randomness of the aborted round" in problems


# -- transcripts against run_round and the plaintext ---------------------------------------------


def _quantize_directly(x: float, encoding: Encoding) -> int:
    """round-half-even(x * 2^f), clipped to +-floor(clip * 2^f): computed here, not by the package."""
    q_max = math.floor(encoding.clip * 2**encoding.frac_bits)
    return max(-q_max, min(q_max, round(max(-encoding.clip, min(encoding.clip, x)) * 2**encoding.frac_bits)))


def _finished_transcripts() -> list[tuple[str, int]]:
    out = []
    for relative, data in _files().items():
        if data["family"] == "transcripts":
            out += [(relative, t["tcId"]) for t in _tests(data) if t["result"] == "valid"]
    return out


@pytest.mark.parametrize(("relative", "tc_id"), _finished_transcripts())
def test_transcript_equals_run_round_and_the_plaintext_sum(relative: str, tc_id: int) -> None:
    data = _load(relative)
    group, test = next((g, t) for g in data["testGroups"] for t in g["tests"] if t["tcId"] == tc_id)
    params = params_from_json(group["params"])
    encoding = encoding_from_json(group["encoding"])
    steps = test["operations"]
    registered = [int(s["actor"].split(":")[1]) for s in steps if s["op"] == "KeyGen"]
    online = [e["id"] for e in next(s for s in steps if s["op"] == "AggPKGen")["inputs"]["public_keys"]]
    updates = {int(s["actor"].split(":")[1]): s["inputs"]["values"] for s in steps if s["op"] == "Quantize"}
    weights = {int(s["actor"].split(":")[1]): s["inputs"]["weight"] for s in steps if s["op"] == "Encode"}
    se_step = next(s for s in steps if s["op"] == "SE")
    hardening = Hardening(announce_keys=any("announced" in s["inputs"] for s in steps if s["op"] == "CheckPkS"),
                          announce_challenge=any(s["op"] == "CheckChallenge" for s in steps))
    dim = len(next(iter(updates.values())))

    rng = ReplayRandom(replay_values(test, Codec(params)))
    server_key, keys = setup(params, encoding, dim, registered, rng)
    clients = [Client(i, keys[i], updates[i], weights[i]) for i in online]
    result = run_round(params, encoding, server_key, clients, online, model=bytes.fromhex(se_step["inputs"]["model"]),
                       round_id=se_step["inputs"]["round"], hardening=hardening, rng=rng)
    assert rng.exhausted(), "the transcript holds randomness run_round does not draw"
    decoded = steps[-1]["outputs"]
    assert (result.weighted_sums, result.weight_sum) == (decoded["weighted_sums"], decoded["weight_sum"])
    codec = Codec(params)
    announced = {int(s["actor"].split(":")[1]): s["outputs"]["pk"] for s in steps if s["op"] == "KeyGen"}
    assert announced == {i: codec.element(keys[i].pk) for i in registered}

    plaintext = [sum(weights[i] * _quantize_directly(updates[i][t], encoding) for i in online) for t in range(dim)]
    correct = (decoded["weighted_sums"], decoded["weight_sum"]) == (plaintext, sum(weights[i] for i in online))
    assert correct == (params.profile != "paper"), "v1 and v2 decrypt the plaintext sum; the printed Dec does not (E1)"


# -- coverage -------------------------------------------------------------------------------------


def test_every_operation_has_valid_and_invalid_vectors_on_the_main_v1_and_v2_sets() -> None:
    for parameter_set_name in ("v1-test-512", "v1-rsa2048-short", "v2-test-512", "v2-rsa2048"):
        tests = [t for r, d in _files().items() if d["parameterSet"] == parameter_set_name
                 and d["family"] not in ("transcripts", "errata") for t in _tests(d)]
        for op in ops.OPERATIONS:
            results = {t["result"] for t in tests if t["op"] == op}
            assert {"valid", "invalid"} <= results, (parameter_set_name, op, results)


def test_every_error_code_raised_by_an_operation_appears() -> None:
    codes = {t.get("error") for d in _files().values() for t in _tests(d)}
    codes |= {s.get("error") for d in _files().values() for t in _tests(d) for s in t.get("operations", [])}
    codes |= {t["abort"]["code"] for d in _files().values() for t in _tests(d) if "abort" in t}
    # Not operation errors: the base class, run_round's registry lookup, and the client-side guards' refusals
    # (re-run guard, v2 mask guard), which the errata's finding records show.
    unreachable = {"mpksa-error", "unknown-client-id", "rerun-refused", "exponent-reused"}
    assert set(ERROR_CLASSES) - unreachable <= codes, sorted(set(ERROR_CLASSES) - unreachable - codes)


@pytest.mark.parametrize("relative", ["v1/v1-test-512/transcripts.json", "v2/v2-test-512/transcripts.json"])
def test_whole_rounds_cover_every_size_from_2_to_10_and_n_minus_2_dropouts(relative: str) -> None:
    data = _load(relative)
    sizes = {len(t["intermediates"]["online"]) for t in _tests(data) if t["result"] == "valid"}
    assert set(range(2, 11)) <= sizes
    dropouts = [t["intermediates"] for t in _tests(data) if "Dropout" in t["flags"]]
    assert any(len(m["dropped_before_s"]) == len(m["registered"]) - 2 for m in dropouts)
    aborted = [t for t in _tests(data) if "abort" in t]
    assert aborted and all(t["operations"][-1]["success"] is False for t in aborted)


def test_every_parameter_set_has_every_family() -> None:
    files = _files()
    for name in ("paper-test", "paper-512", "v1-test-512", "v1-rsa2048-short", "v1-rsa2048-full", "v2-test-512",
                 "v2-rsa2048"):
        profile = parameter_set(name).profile
        families = {d["family"] for d in files.values() if d["parameterSet"] == name}
        assert {"keys", "se", "encoding", "enc", "challenge", "agg", "dec", "transcripts"} <= families, name
        assert all(d["profile"] == profile for d in files.values() if d["parameterSet"] == name)


# -- errata ---------------------------------------------------------------------------------------


def _errata_tests(relative: str) -> list[Json]:
    return _tests(_load(relative))


def test_errata_reproduce_the_reviews_own_numbers() -> None:
    """Numbers stated in the review (part A), not taken from the generator or from mpksa.findings."""
    toy = next(t for t in _errata_tests("paper/paper-test/errata.json") if "ToyGroup" in t["flags"])
    assert toy["inputs"]["alphas"] == ["03"]  # alpha = 3 at p = 23
    assert int(toy["outputs"]["sums"][0], 16) == 4 and int(toy["intermediates"]["plaintext_sums"][0], 16) == 3
    for name in ("paper-test", "paper-512"):
        e6 = next(t for t in _errata_tests(f"paper/{name}/errata.json") if t["op"] == "Recover")
        assert [int(x, 16) for x in e6["inputs"]["a"]] == [1, 401, 401**2, 401**3]
        assert e6["outputs"]["values"] == [7, 399, 395, 9]  # true values [7, -2, -5, 10]


def test_errata_cover_every_finding() -> None:
    ids = {t["intermediates"]["finding"]["id"] for d in _files().values() if d["family"] == "errata"
           for t in _tests(d) if "finding" in t.get("intermediates", {})}
    assert ids == {f"E{i}" for i in range(1, 11)} | {"Theorem 3"}
    for name in ("paper-test", "paper-512"):
        paper_ids = {t["intermediates"]["finding"]["id"] for t in _errata_tests(f"paper/{name}/errata.json")
                     if "finding" in t.get("intermediates", {})}
        assert {"E1", "E2", "E5", "E6"} <= paper_ids
    for relative in ("v1/v1-test-512", "v1/v1-rsa2048-short", "v2/v2-test-512", "v2/v2-rsa2048"):
        ids = {t["intermediates"]["finding"]["id"] for t in _errata_tests(f"{relative}/errata.json")
               if "finding" in t.get("intermediates", {})}
        assert {"E8", "E9", "E10"} <= ids, relative
    v2_functions = {t["intermediates"]["finding"]["function"] for t in _errata_tests("v2/v2-rsa2048/errata.json")
                    if "finding" in t.get("intermediates", {})}
    assert "e8_junk_server_key_v2" in v2_functions and "e8_junk_server_key" not in v2_functions


def test_paper_dec_vectors_record_the_wrong_sum_next_to_the_true_one() -> None:
    for name in ("paper-test", "paper-512"):
        decs = [t for family in ("dec", "errata") for t in _tests(_load(f"paper/{name}/{family}.json"))
                if t["op"] == "Dec" and t["result"] == "valid"]
        assert decs
        for t in decs:
            assert "PaperDecryptionIncorrect" in t["flags"]
            assert t["outputs"]["sums"] != t["intermediates"]["plaintext_sums"]


def test_verify_detects_a_tampered_finding(tmp_path: Path) -> None:
    root = _copy_vectors(tmp_path)

    def change(data: Json) -> None:
        test = next(t for t in _tests(data) if t["intermediates"].get("finding", {}).get("function")
                    == "theorem3_collusion")
        pair = test["intermediates"]["finding"]["result"]["pair_sums"]
        pair[0] = hex(int(pair[0], 16) + 1)

    _rewrite(root, "v1/v1-test-512/errata.json", change)
    problems = verify_mod.verify(root, only=_only("v1/v1-test-512/errata.json")).problems
    assert any("theorem3_collusion now gives a different result" in p for p in problems), problems
