"""The conformance runner (spec chapter 9): verdicts, robustness against broken implementations,
reports, CLI, the reference server, and live interop.

The runner is checked on small vector files built here through `mpksa.ops.handle` following
vectors/README.md, and on the shipped vectors when they exist. Each broken implementation
(tests/fixtures/misbehave.py) misbehaves in one known way; the expected verdicts follow from
that definition, not from the runner's code.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mpksa import ops
from mpksa.conformance import cases as vector_cases
from mpksa.conformance.adapters import InProcessSession, SubprocessSession, open_session
from mpksa.conformance.cli import main as cli_main
from mpksa.conformance.compare import ABSENT, first_difference
from mpksa.conformance.interop import run_interop
from mpksa.conformance.protocol import ImplementationFault, parse_answer, schema
from mpksa.wire.codec import Codec
from mpksa.wire.contract import PROTOCOL, encoding_to_json, params_to_json
from mpksa.conformance.report import junit_xml, report_json
from mpksa.conformance.runner import ERROR, FAIL, PASS, SKIP, Options, exit_code, run
from mpksa.encoding import Encoding
from mpksa.params import parameter_set
from mpksa.randomness import SeededRandom

ROOT = Path(__file__).resolve().parents[1]
MISBEHAVE = ROOT / "tests" / "fixtures" / "misbehave.py"
REFERENCE_SERVER = f"{sys.executable} -m mpksa.conformance.reference_server"


# -- fixture vectors, built through mpksa.ops.handle following vectors/README.md -----------------


class FixtureBuilder:
    """Writes vector files for one parameter set; every expected value is the reference's answer."""

    def __init__(self, name: str, encoding: Encoding, seed: bytes) -> None:
        self.params = parameter_set(name)
        self.codec = Codec(self.params)
        self.encoding = encoding
        self.rng = SeededRandom(seed)

    def exponent(self) -> str:
        return self.codec.exponent(self.rng.randrange(1, self.params.exponent_bound))

    def request(self, op: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"op": op, "profile": self.params.profile, "params": params_to_json(self.params),
                "encoding": encoding_to_json(self.encoding), "inputs": inputs}

    def call(self, op: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return ops.handle(self.request(op, inputs))

    def test(self, tc_id: int, op: str, inputs: dict[str, Any], result: str, flags: tuple[str, ...] = (),
             comment: str = "") -> dict[str, Any]:
        answer = self.call(op, inputs)
        if result == "invalid":
            assert "error" in answer, f"fixture tc {tc_id} must be rejected by the reference"
        return {"tcId": tc_id, "comment": comment or f"{op} {result}", "flags": list(flags), "op": op,
                "inputs": inputs, **answer, "result": result}

    def file(self, family: str, tests: list[dict[str, Any]], schema_name: str = "operation.schema.json") -> dict[str, Any]:
        return {"algorithm": "MPKSA", "schema": schema_name, "specVersion": "0.1", "generatorVersion": "fixture",
                "profile": self.params.profile, "parameterSet": self.params.name, "family": family,
                "numberOfTests": len(tests), "header": ["fixture for tests/test_conformance.py"],
                "notes": {"Clipped": {"description": "a value beyond the clipping bound", "reference": "spec 5",
                                      "effect": "clipped to the bound"}},
                "testGroups": [{"params": params_to_json(self.params),
                                "encoding": encoding_to_json(self.encoding), "tests": tests}]}


def _keygen_file(b: FixtureBuilder) -> dict[str, Any]:
    sk = b.exponent()
    return b.file("keygen", [
        b.test(1, "KeyGen", {"sk": sk}, "valid"),
        b.test(2, "KeyGen", {"sk": b.exponent()}, "valid"),
        b.test(3, "KeyGen", {"sk": sk[2:]}, "invalid", comment="sk one byte short"),
        b.test(4, "KeyGen", {"sk": sk.upper() if sk.upper() != sk else "G" + sk[1:]}, "invalid",
               comment="sk not lowercase hex"),
    ])


def _enc_inputs(b: FixtureBuilder, clients: int = 2) -> dict[str, Any]:
    pks = [b.call("KeyGen", {"sk": b.exponent()})["outputs"]["pk"] for _ in range(clients)]
    pk_s = b.call("AggPKGen", {"public_keys": [{"id": i, "pk": pk} for i, pk in enumerate(pks)]})["outputs"]["pk_s"]
    quantized = [b.call("Quantize", {"values": [0.25, -0.5, 0.125]})["outputs"]["quantized"]][0]
    segments = b.call("Encode", {"quantized": quantized, "weight": 1})["outputs"]["segments"]
    u = len(segments)
    alphas = [b.exponent() for _ in range(u if b.params.profile == "paper" else 1)]
    betas = b.call("SysGen", {"alphas": alphas})["outputs"]["betas"]
    draws = 1 if b.params.profile == "paper" else u
    return {"betas": betas, "pk_s": pk_s, "segments": segments, "r1": [b.exponent() for _ in range(draws)],
            "r2": [b.exponent() for _ in range(draws)]}


def _enc_file(b: FixtureBuilder, invalid: bool = True) -> dict[str, Any]:
    tests = [b.test(1, "Enc", _enc_inputs(b), "valid"), b.test(2, "Enc", _enc_inputs(b), "valid")]
    if invalid:
        bad = dict(_enc_inputs(b), pk_s=b.codec.element(0))
        tests.append(b.test(3, "Enc", bad, "invalid", comment="pk_S = 0 is not a group element"))
    return b.file("enc", tests)


def _quantize_file(b: FixtureBuilder) -> dict[str, Any]:
    return b.file("quantize", [
        b.test(1, "Quantize", {"values": [0.5, -0.25, 0.0]}, "valid"),
        b.test(2, "Quantize", {"values": [1.5, -3.0]}, "acceptable", ("Clipped",), "values beyond the clip bound"),
        b.test(3, "Quantize", {"values": ["NaN"]}, "invalid", comment="NaN is not a gradient value"),
    ])


def _transcript_file(b: FixtureBuilder) -> dict[str, Any]:
    """A whole round of two clients (valid), and a single-client round that must stop at AggPKGen."""
    steps: list[dict[str, Any]] = []

    def step(actor: str, op: str, inputs: dict[str, Any]) -> dict[str, Any]:
        answer = b.call(op, inputs)
        steps.append({"step": len(steps), "actor": actor, "op": op, "inputs": inputs, **answer,
                      "success": "outputs" in answer})
        return answer.get("outputs", {})

    alpha = b.exponent()
    beta = step("server", "SysGen", {"alphas": [alpha]})["betas"]
    sks = [b.exponent(), b.exponent()]
    pks = [step(f"client:{i}", "KeyGen", {"sk": sk})["pk"] for i, sk in enumerate(sks)]
    pk_s = step("server", "AggPKGen", {"public_keys": [{"id": i, "pk": pk} for i, pk in enumerate(pks)]})["pk_s"]
    cts = []
    for i in range(2):
        step(f"client:{i}", "CheckPkS", {"pk_s": pk_s, "pk_i": pks[i], "announced": pks})
        q = step(f"client:{i}", "Quantize", {"values": [0.5 * (i + 1), -0.75]})["quantized"]
        segs = step(f"client:{i}", "Encode", {"quantized": q, "weight": 1})["segments"]
        cts.append(step(f"client:{i}", "Enc", {"betas": beta, "pk_s": pk_s, "segments": segs,
                                               "r1": [b.exponent() for _ in segs], "r2": [b.exponent() for _ in segs]})["ciphertext"])
    challenge = step("server", "ChelGen", {"ciphertexts": cts})["challenge"]
    responses = [step(f"client:{i}", "ResGen", {"challenge": challenge, "sk": sks[i]})["response"] for i in range(2)]
    aggregate = step("server", "Agg", {"ciphertexts": cts, "responses": responses})
    sums = step("server", "Dec", {"alphas": [alpha], **aggregate})["sums"]
    decoded = step("server", "Decode", {"sums": sums, "clients": 2, "dim": 2})
    # The plaintext sum, computed directly: 0.5*2^16 + 1.0*2^16 and -0.75*2^16 twice.
    assert decoded == {"weighted_sums": [98304, -98304], "weight_sum": 2}
    full = {"tcId": 1, "comment": "two clients, whole round", "flags": [], "result": "valid", "operations": steps}

    steps = []
    step("client:0", "KeyGen", {"sk": sks[0]})
    step("server", "AggPKGen", {"public_keys": [{"id": 0, "pk": pks[0]}]})
    assert steps[-1]["success"] is False and steps[-1]["error"]["code"] == "too-few-clients"
    # A step after the failing one: the runner must not send it.
    steps.append({"step": 2, "actor": "client:0", "op": "CheckPkS", "inputs": {"pk_s": pks[0], "pk_i": pks[0]},
                  "outputs": {}, "success": True})
    single = {"tcId": 2, "comment": "|S| = 1 stops at AggPKGen", "flags": [], "result": "invalid", "operations": steps}
    return b.file("transcripts", [full, single], "transcript.schema.json")


def write_fixture_vectors(root: Path) -> dict[str, int]:
    """Writes the fixture tree; returns the number of tests per file."""
    v1 = FixtureBuilder("v1-test-512", Encoding(max_clients=4), b"conformance fixture v1")
    paper = FixtureBuilder("paper-test", Encoding(max_clients=4, frac_bits=4, clip=1.0), b"conformance fixture paper")
    files = {
        "v1/v1-test-512/keygen.json": _keygen_file(v1),
        "v1/v1-test-512/enc.json": _enc_file(v1),
        "v1/v1-test-512/quantize.json": _quantize_file(v1),
        "v1/v1-test-512/transcripts.json": _transcript_file(v1),
        "paper/paper-test/keygen.json": _keygen_file(paper),
        "paper/paper-test/enc.json": _enc_file(paper, invalid=False),
    }
    manifest = {}
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        path.write_text(text)
        manifest[relative] = hashlib.sha256(text.encode()).hexdigest()
    (root / "manifest.json").write_text(json.dumps({"files": manifest}, indent=1))
    return {relative: data["numberOfTests"] for relative, data in files.items()}


@pytest.fixture(scope="session")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("vectors")
    return root, write_fixture_vectors(root)


@pytest.fixture(scope="session")
def all_cases(vectors: tuple[Path, dict[str, int]]) -> list[vector_cases.Case]:
    found = vector_cases.load(vectors[0])
    assert found.problems == []
    return found.cases


# The fixture holds 5 Enc operation tests (v1: 2 valid + 1 invalid, paper: 2 valid) and one
# transcript with Enc steps: 6 tests touch Enc.
ENC_TESTS = {"paper/paper-test/enc#1", "paper/paper-test/enc#2", "v1/v1-test-512/enc#1", "v1/v1-test-512/enc#2",
             "v1/v1-test-512/enc#3", "v1/v1-test-512/transcripts#1"}
INVALID_WITH_CODE = {"paper/paper-test/keygen#3", "paper/paper-test/keygen#4", "v1/v1-test-512/keygen#3",
                     "v1/v1-test-512/keygen#4", "v1/v1-test-512/enc#3", "v1/v1-test-512/quantize#3",
                     "v1/v1-test-512/transcripts#2"}


def verdicts(report: Any) -> dict[str, str]:
    return {r.case.test_id: r.verdict for r in report.results}


def broken(mode: str, op: str = "Enc") -> SubprocessSession:
    return SubprocessSession(f"{sys.executable} {MISBEHAVE} {mode} {op}", timeout=5)


# -- loading ---------------------------------------------------------------------------------------


def test_loader_reads_every_test_of_every_file(vectors, all_cases):
    root, counts = vectors
    assert len(all_cases) == sum(counts.values()) == 18
    assert {c.file for c in all_cases} == set(counts)
    transcript = next(c for c in all_cases if c.test_id == "v1/v1-test-512/transcripts#1")
    assert transcript.op == "transcript" and len(transcript.steps) == 18
    single = next(c for c in all_cases if c.test_id == "v1/v1-test-512/transcripts#2")
    assert [s.success for s in single.steps] == [True, False, True]
    assert single.steps[1].error_code == "too-few-clients"


def test_loader_reports_a_file_changed_after_the_manifest(tmp_path):
    write_fixture_vectors(tmp_path)
    path = tmp_path / "v1/v1-test-512/keygen.json"
    path.write_text(path.read_text().replace('"sk one byte short"', '"edited"'))
    assert vector_cases.load(tmp_path).problems == ["v1/v1-test-512/keygen.json: SHA-256 differs from manifest.json"]


def test_malformed_test_becomes_an_error_verdict(tmp_path):
    write_fixture_vectors(tmp_path)
    path = tmp_path / "v1/v1-test-512/quantize.json"
    data = json.loads(path.read_text())
    del data["testGroups"][0]["tests"][0]["inputs"]
    path.write_text(json.dumps(data))
    (tmp_path / "manifest.json").unlink()
    found = vector_cases.load(tmp_path)
    report = run(InProcessSession(ops.REFERENCE, "reference"), found.cases)
    bad = [r for r in report.results if r.verdict != PASS]
    assert [(r.case.test_id, r.verdict) for r in bad] == [("v1/v1-test-512/quantize#1", ERROR)]
    assert "inputs" in bad[0].reason


def test_selection_filters():
    numbers, ids = vector_cases.parse_tc_filter(["3-5,9", "v1/v1-test-512/enc#2"])
    assert numbers == {3, 4, 5, 9} and ids == {"v1/v1-test-512/enc#2"}
    assert vector_cases.split_values(["v1,paper", "v1"]) == {"v1", "paper"}


# -- comparison ------------------------------------------------------------------------------------


def test_first_difference_paths():
    expected = {"ciphertext": {"e1": ["00", "01", "02"], "e2": [["a", "b"]]}}
    got = {"ciphertext": {"e1": ["00", "01", "03"], "e2": [["a", "b"]]}}
    assert first_difference(expected, got, "outputs") == ("outputs.ciphertext.e1[2]", "02", "03")
    assert first_difference({"a": [1, 2]}, {"a": [1]}, "outputs") == ("outputs.a[1]", 2, ABSENT)
    assert first_difference({"a": 1}, {"a": 1, "b": 2}, "outputs") == ("outputs.b", ABSENT, 2)
    assert first_difference({"ok": True}, {"ok": 1}, "o") == ("o.ok", True, 1)
    assert first_difference({"x": "0a"}, {"x": "0A"}, "o") == ("o.x", "0a", "0A")
    assert first_difference({"x": 2}, {"x": 2.0}, "o") is None


# -- the reference passes, in process and as a subprocess -----------------------------------------


def test_reference_adapter_passes_every_fixture(all_cases):
    report = run(InProcessSession(ops.REFERENCE, "mpksa.ops:REFERENCE"), all_cases)
    assert report.count(PASS) == len(all_cases) == 18
    assert exit_code([report]) == 0


def test_reference_server_subprocess_passes_every_fixture(all_cases):
    report = run(SubprocessSession(REFERENCE_SERVER), all_cases)
    assert [r.reason for r in report.results if r.verdict != PASS] == []
    assert report.capabilities is not None and report.capabilities.parameter_sets is None
    assert report.restarts == 0


def test_strict_request_answer_window_also_passes(all_cases):
    report = run(SubprocessSession(REFERENCE_SERVER), all_cases, Options(window=1))
    assert report.count(PASS) == len(all_cases)


# -- broken implementations get failed verdicts with the reason; the runner goes on ---------------


@pytest.mark.parametrize("mode, reason", [
    ("crash", "exited with status 3"),
    ("garbage", "not JSON"),
    ("wrong-id", "carries id"),
    ("no-envelope", "has type None"),
])
def test_protocol_faults_fail_exactly_the_tests_they_hit(all_cases, mode, reason):
    report = run(broken(mode), all_cases)
    by_id = verdicts(report)
    assert {t for t, v in by_id.items() if v != PASS} == ENC_TESTS
    assert all(by_id[t] == FAIL for t in ENC_TESTS)
    for r in report.results:
        if r.verdict == FAIL:
            assert reason in r.reason
    assert report.restarts == len(ENC_TESTS)
    assert exit_code([report]) == 1


def test_crash_reason_carries_the_stderr_tail(all_cases):
    enc = [c for c in all_cases if c.test_id == "v1/v1-test-512/enc#1"]
    (result,) = run(broken("crash"), enc).results
    assert "crash" in result.reason and "crashing on purpose" in result.reason


def test_hang_times_out_and_the_rest_still_runs(all_cases):
    chosen = [c for c in all_cases if c.file == "v1/v1-test-512/enc.json" or c.op == "Quantize"]
    session = broken("hang")
    session.timeout = 1.0
    started = time.monotonic()
    report = run(session, chosen, Options(timeout=1.0))
    assert time.monotonic() - started < 20
    assert {t: v for t, v in verdicts(report).items() if v != PASS} == {
        "v1/v1-test-512/enc#1": FAIL, "v1/v1-test-512/enc#2": FAIL, "v1/v1-test-512/enc#3": FAIL}
    assert all("within 1 s (hang)" in r.reason for r in report.results if r.verdict == FAIL)


def test_answers_out_of_order_fail(all_cases):
    operations = [c for c in all_cases if c.op != "transcript"]
    report = run(broken("out-of-order"), operations, Options(window=8))
    failed = {r.case.test_id: r.reason for r in report.results if r.verdict != PASS}
    assert set(failed) == ENC_TESTS - {"v1/v1-test-512/transcripts#1"}
    assert all("in request order" in reason for reason in failed.values())


def test_wrong_output_shows_the_first_differing_field(all_cases):
    report = run(broken("wrong-output"), all_cases)
    failed = [r for r in report.results if r.verdict != PASS]
    # misbehave.py flips the last hex digit of the first hex string: ciphertext.e1[0].
    assert {r.case.test_id for r in failed} == ENC_TESTS - {"v1/v1-test-512/enc#3"}
    for r in failed:
        assert r.verdict == FAIL and r.path.endswith("outputs.ciphertext.e1[0]")
        assert r.expected[:-1] == r.got[:-1] and r.expected != r.got
    transcript = next(r for r in failed if r.case.op == "transcript")
    assert transcript.path == f"operations[{transcript.step}].outputs.ciphertext.e1[0]"
    assert transcript.case.steps[transcript.step].op == "Enc"
    assert report.restarts == 0  # a wrong answer is not a protocol fault


def test_wrong_error_code_fails_the_tests_that_name_a_code(all_cases):
    report = run(broken("wrong-code"), all_cases)
    failed = {r.case.test_id: r for r in report.results if r.verdict != PASS}
    assert set(failed) == INVALID_WITH_CODE
    for r in failed.values():
        assert r.path.endswith("error.code") and r.got == "mpksa-error" and r.expected != "mpksa-error"


def test_accepting_invalid_input_fails(all_cases):
    report = run(broken("accepts-invalid"), all_cases)
    failed = {r.case.test_id: r for r in report.results if r.verdict != PASS}
    assert set(failed) == INVALID_WITH_CODE
    assert all("accepted invalid input" in r.reason for r in failed.values())


def test_bad_handshake_marks_everything_error(all_cases):
    report = run(broken("bad-handshake"), all_cases)
    assert {r.verdict for r in report.results} == {ERROR}
    assert "mpksa-conformance/0" in report.problem
    assert exit_code([report]) == 1


def test_exit_before_handshake_is_reported(all_cases):
    report = run(broken("exit-at-start"), all_cases)
    assert {r.verdict for r in report.results} == {ERROR}
    assert "exited with status 5" in report.problem


def test_command_that_does_not_exist(all_cases):
    report = run(SubprocessSession("/nonexistent/implementation --flag"), all_cases[:2])
    assert {r.verdict for r in report.results} == {ERROR} and "could not start" in report.problem


def test_undeclared_profile_is_skipped_not_failed(all_cases):
    report = run(broken("v1-only"), all_cases)
    by_id = verdicts(report)
    assert {t for t, v in by_id.items() if v == SKIP} == {c.test_id for c in all_cases if c.profile == "paper"}
    assert {v for t, v in by_id.items() if not t.startswith("paper/")} == {PASS}
    assert all(r.reason == "profile 'paper' not declared" for r in report.results if r.verdict == SKIP)
    assert exit_code([report]) == 0


def test_restart_limit_reports_the_rest_as_error(all_cases):
    report = run(broken("crash"), all_cases, Options(max_restarts=0))
    results = report.results
    first_fail = next(k for k, r in enumerate(results) if r.verdict == FAIL)
    assert results[first_fail].case.test_id == "paper/paper-test/enc#1"
    later = [r for r in results if r.verdict == ERROR]
    assert later and all("--max-restarts 0" in r.reason for r in later)
    assert sum(r.verdict == FAIL for r in results) == 1


class _Recording:
    """An in-process adapter that wraps the reference and can misbehave on one operation."""

    def __init__(self, behaviour: str = "", op: str = "Enc") -> None:
        self.behaviour, self.op, self.seen = behaviour, op, []

    def capabilities(self) -> dict[str, Any]:
        return ops.REFERENCE.capabilities()

    def handle(self, request: dict[str, Any]) -> Any:
        self.seen.append(request["op"])
        if request["op"] == self.op:
            if self.behaviour == "raise":
                raise RuntimeError("adapter bug")
            if self.behaviour == "hang":
                time.sleep(5)
            if self.behaviour == "not-json":
                return {"outputs": {"x": {1, 2}}}
        return ops.handle(request)


def test_transcript_stops_at_the_failing_step(all_cases):
    single = [c for c in all_cases if c.test_id == "v1/v1-test-512/transcripts#2"]
    adapter = _Recording()
    report = run(InProcessSession(adapter, "recording"), single)
    assert verdicts(report) == {"v1/v1-test-512/transcripts#2": PASS}
    assert adapter.seen == ["KeyGen", "AggPKGen"]  # the CheckPkS after the failing step was not sent


@pytest.mark.parametrize("behaviour, reason", [("raise", "raised RuntimeError: adapter bug"),
                                               ("not-json", "not JSON")])
def test_in_process_adapter_bugs_fail_the_test(all_cases, behaviour, reason):
    report = run(InProcessSession(_Recording(behaviour), "buggy"), all_cases)
    failed = {r.case.test_id: r.reason for r in report.results if r.verdict != PASS}
    assert set(failed) == ENC_TESTS and all(reason in text for text in failed.values())


def test_in_process_hang_ends_the_session_without_hanging_the_runner(all_cases):
    started = time.monotonic()
    report = run(InProcessSession(_Recording("hang"), "hangs", timeout=0.5), all_cases)
    assert time.monotonic() - started < 10
    first = next(r for r in report.results if r.verdict != PASS)
    assert first.verdict == FAIL and "hang" in first.reason
    assert all(r.verdict == ERROR for r in report.results[report.results.index(first) + 1:])


# -- acceptable tests and the flag allowlist -------------------------------------------------------


def test_acceptable_follows_the_allowlist(all_cases):
    clipped = [c for c in all_cases if c.test_id == "v1/v1-test-512/quantize#2"]
    reference = lambda: InProcessSession(ops.REFERENCE, "reference")  # noqa: E731
    assert verdicts(run(reference(), clipped)) == {clipped[0].test_id: PASS}
    assert verdicts(run(reference(), clipped, Options(allowed_flags=frozenset({"Clipped"})))) == {clipped[0].test_id: PASS}
    (result,) = run(reference(), clipped, Options(allowed_flags=frozenset())).results
    assert result.verdict == FAIL and "must be rejected" in result.reason


# -- protocol messages follow their schemas --------------------------------------------------------


def _validator(name: str) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema(name))
    cls.check_schema(schema(name))
    return cls(schema(name))


def test_reference_server_messages_follow_the_schemas(all_cases):
    from mpksa.conformance import reference_server
    from mpksa.conformance.protocol import capabilities_request, request_message

    _validator("capabilities-request").validate(capabilities_request())
    _validator("capabilities-response").validate(reference_server.answer(capabilities_request()))
    requests, responses = _validator("request"), _validator("response")
    for k, case in enumerate(all_cases):
        for step in case.steps:
            message = request_message(k + 1, step.request)
            requests.validate(message)
            responses.validate(reference_server.answer(message))
    garbage = reference_server.answer("not a message")
    responses.validate(garbage)
    with pytest.raises(ImplementationFault):
        parse_answer(garbage, expected_id=1)
    bad = {"type": "response", "id": 1, "outputs": {}, "error": {"code": "x", "message": ""}}
    with pytest.raises(jsonschema.ValidationError):
        responses.validate(bad)
    with pytest.raises(ImplementationFault):
        parse_answer(bad, expected_id=1)


# -- reports and the command line ------------------------------------------------------------------


def test_json_report_follows_its_schema_and_junit_is_well_formed(all_cases):
    good = run(InProcessSession(ops.REFERENCE, "reference"), all_cases)
    bad = run(broken("wrong-output"), all_cases)
    data = json.loads(json.dumps(report_json([good, bad], "fixture", {"op": []}, exit_code([good, bad]))))
    _validator("report").validate(data)
    assert data["exitCode"] == 1
    assert [i["summary"] for i in data["implementations"]] == [
        {"pass": 18, "fail": 0, "error": 0, "skip": 0}, {"pass": 13, "fail": 5, "error": 0, "skip": 0}]
    root = ET.fromstring(ET.tostring(junit_xml([good, bad]).getroot()))
    assert root.tag == "testsuites" and root.get("tests") == "36" and root.get("failures") == "5"
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 36 and len(root.findall("testsuite/testcase/failure")) == 5
    # The attributes and children the common JUnit schemas (Ant, Jenkins) require, and nothing else.
    for suite in root.findall("testsuite"):
        assert set(suite.attrib) == {"name", "tests", "failures", "errors", "skipped", "time"}
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        for case in suite.findall("testcase"):
            assert set(case.attrib) == {"name", "classname", "time"} and float(case.get("time")) >= 0
            for child in case:
                assert child.tag in ("failure", "error", "skipped") and child.get("message")
                assert child.tag == "skipped" or child.get("type")


def test_cli_run_reports_and_exit_codes(vectors, tmp_path, capsys):
    root, counts = vectors
    out_json, out_xml = tmp_path / "r.json", tmp_path / "r.xml"
    code = cli_main(["conformance", "run", "--vectors", str(root), "--adapter", "mpksa.ops:REFERENCE",
                     "--impl", REFERENCE_SERVER, "--json", str(out_json), "--junit-xml", str(out_xml)])
    text = capsys.readouterr().out
    assert code == 0 and "all selected tests passed" in text
    assert "transcript" in text and "Enc" in text
    data = json.loads(out_json.read_text())
    _validator("report").validate(data)
    assert [i["summary"]["pass"] for i in data["implementations"]] == [18, 18]
    assert ET.parse(out_xml).getroot().get("tests") == "36"

    code = cli_main(["conformance", "run", "--vectors", str(root), "--impl", f"{sys.executable} {MISBEHAVE} wrong-output",
                     "--op", "Enc", "--profile", "v1"])
    text = capsys.readouterr().out
    assert code == 1 and "outputs.ciphertext.e1[0]" in text and "conformance check failed" in text


@pytest.mark.parametrize("filters, expected", [
    (["--op", "Enc"], 5),
    (["--op", "transcript"], 2),
    (["--profile", "paper"], 6),
    (["--params", "v1-test-512", "--tc", "1-2"], 8),
    (["--tc", "v1/v1-test-512/enc#3"], 1),
    (["--flag", "Clipped"], 1),
])
def test_cli_filters_select_tests(vectors, tmp_path, filters, expected):
    out = tmp_path / "r.json"
    assert cli_main(["conformance", "run", "--vectors", str(vectors[0]), "--adapter", "mpksa.ops:REFERENCE",
                     "--json", str(out), *filters]) == 0
    assert len(json.loads(out.read_text())["implementations"][0]["tests"]) == expected


def test_cli_usage_errors(tmp_path, capsys):
    assert cli_main(["conformance", "run", "--vectors", str(tmp_path)]) == 2
    assert "no vector files" in capsys.readouterr().err
    write_fixture_vectors(tmp_path)
    assert cli_main(["conformance", "run", "--vectors", str(tmp_path), "--op", "NoSuchOp"]) == 2
    assert cli_main(["conformance", "run", "--vectors", str(tmp_path), "--adapter", "no.such.module:X"]) == 2


def test_default_run_checks_the_reference(vectors, capsys):
    assert cli_main(["conformance", "run", "--vectors", str(vectors[0])]) == 0
    assert "mpksa.ops:REFERENCE" in capsys.readouterr().out


# -- live interop ----------------------------------------------------------------------------------


@pytest.mark.parametrize("parameter_set", ["v1-test-512", "v2-test-512"])
def test_interop_reference_rounds_with_dropouts_and_abort(parameter_set):
    report = run_interop(open_session("adapter:mpksa.ops:REFERENCE"), [open_session("adapter:mpksa.ops:REFERENCE")],
                         parameter_set, rounds=3, num_clients=4, dim=20)
    assert report.problem is None
    assert [(r.kind, r.passed) for r in report.rounds] == [("full", True), ("dropout", True), ("single", True)]
    assert report.rounds[0].online == [0, 1, 2, 3]
    assert 2 <= len(report.rounds[1].online) <= 3 and report.rounds[1].dropped
    assert "single-client-abort" in report.rounds[2].detail and "too-few-clients" in report.rounds[2].detail
    _validator("interop-report").validate({"protocol": PROTOCOL, **report.as_json()})


def test_interop_subprocess_clients_and_cli(tmp_path, capsys):
    out = tmp_path / "interop.json"
    code = cli_main(["conformance", "interop", "--server", REFERENCE_SERVER, "--clients", "adapter:mpksa.ops:REFERENCE",
                     REFERENCE_SERVER, "--rounds", "4", "--num-clients", "3", "--dim", "10", "--json", str(out)])
    assert code == 0, capsys.readouterr().out
    data = json.loads(out.read_text())
    _validator("interop-report").validate(data)
    assert [r["kind"] for r in data["rounds"]] == ["full", "dropout", "single", "full"]


def test_interop_detects_a_client_with_a_wrong_ciphertext():
    report = run_interop(open_session("adapter:mpksa.ops:REFERENCE"),
                         [open_session(f"{sys.executable} {MISBEHAVE} wrong-output Enc")],
                         "v1-test-512", rounds=2, num_clients=3, dim=5)
    assert [r.passed for r in report.rounds] == [False, False]
    assert all("differs from the plaintext sum" in r.detail or "error" in r.detail for r in report.rounds)


def test_interop_detects_a_crashing_server_and_goes_on():
    report = run_interop(open_session(f"{sys.executable} {MISBEHAVE} crash ChelGen"),
                         [open_session("adapter:mpksa.ops:REFERENCE")], "v1-test-512", rounds=3, num_clients=3, dim=5)
    assert [r.passed for r in report.rounds] == [False, False, True]
    assert "server" in report.rounds[0].detail and "ChelGen" in report.rounds[0].detail


def test_interop_on_profile_paper_shows_finding_e1():
    report = run_interop(open_session("adapter:mpksa.ops:REFERENCE"), [open_session("adapter:mpksa.ops:REFERENCE")],
                         "paper-test", rounds=1, num_clients=3, dim=3)
    (outcome,) = report.rounds
    assert not outcome.passed and "finding E1" in outcome.detail


def test_interop_refuses_an_implementation_without_the_server_operations():
    report = run_interop(open_session(f"{sys.executable} {MISBEHAVE} v1-only"), [open_session("adapter:mpksa.ops:REFERENCE")],
                         "paper-test", rounds=1, num_clients=2, dim=2)
    assert report.rounds == [] and "profile 'paper' not declared" in report.problem and not report.ok


# -- the shipped vectors ---------------------------------------------------------------------------


def test_reference_passes_every_shipped_vector_in_process_and_as_a_subprocess():
    shipped = vector_cases.load()
    assert shipped.files and shipped.problems == []
    assert {c.profile for c in shipped.cases} == {"paper", "v1", "v2"}
    for session in (InProcessSession(ops.REFERENCE, "reference"), SubprocessSession(REFERENCE_SERVER)):
        report = run(session, shipped.cases)
        assert [(r.case.test_id, r.reason) for r in report.results if r.verdict != PASS] == []
        assert report.seconds < 120  # measured: about 3 s for every file, RSA-2048 full range included


def test_a_forever_hung_adapter_does_not_keep_the_runner_alive(vectors, tmp_path):
    import subprocess

    script = tmp_path / "hung.py"
    script.write_text(
        "import sys, time\n"
        "from mpksa import ops\n"
        "from mpksa.conformance.cli import main\n"
        "class Hung:\n"
        "    def capabilities(self): return ops.REFERENCE.capabilities()\n"
        "    def handle(self, request): time.sleep(10**6)\n"
        "HUNG = Hung()\n"
        f"sys.exit(main(['conformance', 'run', '--vectors', {str(vectors[0])!r}, '--adapter', '__main__:HUNG', "
        "'--timeout', '0.5']))\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 1 and "hang" in done.stdout


def test_strict_json_and_ids_on_the_wire():
    from mpksa.conformance.protocol import parse_line

    for garbage in ('{"type": "response", "id": 1, "outputs": {"x": NaN}}', "[" * 100_000 + "]" * 100_000, "{"):
        with pytest.raises(ImplementationFault, match="not JSON"):
            parse_line(garbage)
    for wrong_type in (True, 1.0, "1", None):  # a type error, not an ordering error (issue 14)
        with pytest.raises(ImplementationFault, match="id must be a JSON integer"):
            parse_answer({"type": "response", "id": wrong_type, "outputs": {}}, expected_id=1)
    with pytest.raises(ImplementationFault, match="carries id 2"):
        parse_answer({"type": "response", "id": 2, "outputs": {}}, expected_id=1)
    assert parse_answer({"type": "response", "id": 1, "outputs": {}}, expected_id=1).outputs == {}
