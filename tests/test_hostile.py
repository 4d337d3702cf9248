"""The runner and its command line against hostile implementations, bad files and new users (issue 14).

Each hostile implementation (tests/fixtures/hostile.py) attacks in one known way; the
expected outcome follows from the protocol (spec chapter 9): the runner never hangs, never
crashes, never passes a wrong answer, and shows what the implementation wrote only as
escaped, bounded text. The tests run on the shipped KeyGen vectors of v1-test-512 (9 tests).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import node_binary
from mpksa import ops
from mpksa.conformance import cases as vector_cases
from mpksa.conformance import report as reports
from mpksa.conformance.adapters import InProcessSession, SubprocessSession
from mpksa.conformance.cli import main as cli_main
from mpksa.conformance.protocol import ImplementationFault, parse_line, schema
from mpksa.conformance.runner import ERROR, FAIL, PASS, SKIP, Options, exit_code, run

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile.py"
KEYGEN_FILE = "v1/v1-test-512/keys.json"
VALID = {f"v1/v1-test-512/keys#{n}" for n in range(10, 15)}    # KeyGen with outputs
INVALID = {f"v1/v1-test-512/keys#{n}" for n in range(15, 19)}  # KeyGen with an error code


@pytest.fixture(scope="module")
def keygen() -> list[vector_cases.Case]:
    chosen = [c for c in vector_cases.load().cases if c.file == KEYGEN_FILE and c.op == "KeyGen"]
    assert {c.test_id for c in chosen} == VALID | INVALID
    return chosen


def hostile(mode: str, extra: str = "", timeout: float = 5) -> SubprocessSession:
    return SubprocessSession(f"{sys.executable} {HOSTILE} {mode} {extra}".strip(), timeout=timeout)


def cli(*args: str) -> int:
    return cli_main(["conformance", "run", "--params", "v1-test-512", "--op", "KeyGen", "--progress", "off", *args])


def run_within(seconds: float, work: Any) -> Any:
    """Run work() on a thread; fail (instead of hanging the suite) when it does not finish in time."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: the runner hangs"
    return box[0]


def verdicts(report: Any) -> dict[str, str]:
    return {r.case.test_id: r.verdict for r in report.results}


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def helpers(pid_file: Path, expected: int) -> list[int]:
    """The pids the hostile program's helpers wrote, once `expected` of them have."""
    for _ in range(100):
        pids = [int(line) for line in pid_file.read_text().split()] if pid_file.exists() else []
        if len(pids) >= expected:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"expected {expected} helper pids in {pid_file}")


def assert_all_ended(pids: list[int]) -> None:
    """Each helper must be dead (a SIGKILL lands within moments); any survivor is killed here, by its pid."""
    deadline = time.monotonic() + 3
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in pids if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []


# -- processes: nothing the implementation starts can hang the runner -------------------------------


def test_a_helper_keeping_stdout_open_neither_hangs_the_close_nor_survives(keygen, tmp_path):
    pid_file = tmp_path / "helper.pid"
    session = hostile("helper", str(pid_file))
    report = run_within(30, lambda: run(session, keygen))
    assert set(verdicts(report).values()) == {PASS}
    assert_all_ended(helpers(pid_file, 1))  # killed with the implementation's process group


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finding an escaped helper reads /proc (Linux)")
def test_a_daemonized_helper_cannot_hang_the_runner_and_is_killed(keygen, tmp_path):
    pid_file = tmp_path / "daemon.pid"
    session = hostile("daemon", str(pid_file), timeout=20)
    started = time.monotonic()
    report = run_within(60, lambda: run(session, keygen, Options(timeout=20, max_restarts=1)))
    # The program exits on its first request while the daemon holds stdout: a crash, seen at once,
    # not a 20-second hang.
    assert time.monotonic() - started < 15
    first = next(r for r in report.results if r.verdict == FAIL)
    assert "exited with status 1" in first.reason and "hang" not in first.reason
    assert report.restarts == 1
    assert_all_ended(helpers(pid_file, 2))  # it left the process group, but it holds stdout: found and killed


# -- ambiguous JSON and ids -------------------------------------------------------------------------


def test_duplicate_keys_are_a_protocol_error_not_a_pass(keygen):
    report = run(hostile("duplicate-key"), keygen)
    by_id = verdicts(report)
    assert {t for t, v in by_id.items() if v == FAIL} == VALID  # a wrong "outputs" first, the right one last
    assert {t for t, v in by_id.items() if v == PASS} == INVALID
    assert all("appears more than once" in r.reason for r in report.results if r.verdict == FAIL)


def test_strict_json_rejects_bare_constants_and_overflowing_numbers():
    for line, rule in (('{"outputs": {}, "outputs": {}}', "appears more than once"), ('{"x": NaN}', "bare NaN"),
                       ('{"x": -Infinity}', "bare -Infinity"), ('{"x": 1e400}', "does not fit a binary64")):
        with pytest.raises(ImplementationFault, match=rule):
            parse_line(line)


def test_an_id_of_the_wrong_type_is_a_type_error(keygen):
    report = run(hostile("float-id"), keygen[:2])
    assert all(r.verdict == FAIL and "id must be a JSON integer, got 1" in r.reason and "(a float)" in r.reason
               for r in report.results[:1])
    assert not any("order" in r.reason for r in report.results)


# -- text the implementation controls --------------------------------------------------------------

_RAW = ("\x1b", "\x00", "\x07", "\u202e", "\uffff", "\ufffe")


@pytest.mark.parametrize("mode", ["markup", "escapes", "surrogate", "nonchar", "huge"])
def test_hostile_text_is_escaped_and_bounded_in_every_report(mode, tmp_path, capsys):
    out_json, out_xml = tmp_path / "r.json", tmp_path / "r.xml"
    code = cli("--impl", f"{sys.executable} {HOSTILE} {mode}", "--json", str(out_json), "--junit-xml", str(out_xml))
    captured = capsys.readouterr()
    assert code == 1, captured.err  # the valid tests got an error instead of outputs: a failure, not a crash
    terminal = captured.out + captured.err
    assert not any(ch in terminal for ch in _RAW) and not any(0xD800 <= ord(ch) < 0xE000 for ch in terminal)
    assert len(terminal) < 60_000  # 5 failures shown with a 2 MB message each would be 10 MB
    text = out_json.read_text("utf-8")
    data = json.loads(text)
    jsonschema.validate(data, schema("report"))
    assert len(text) < 200_000
    assert not any(ch in text for ch in _RAW)
    ET.parse(out_xml)  # well-formed XML 1.0: no U+FFFF, no NUL, no lone surrogate
    assert len(out_xml.read_bytes()) < 200_000
    if mode == "markup":
        assert "[v1]" in captured.out and "[/x]" in captured.out  # shown as written, not read as markup
    if mode == "escapes":
        assert "\\x1b[31mred" in captured.out and "\\u202e" in captured.out
    if mode == "huge":
        assert "characters cut" in captured.out


def test_an_endless_line_is_a_fault_not_a_memory_hog(keygen):
    session = hostile("huge")
    session.max_line_bytes = 100_000  # the default is 256 MiB; the hostile answer is a 2 MB line
    report = run(session, keygen[:1], Options(max_restarts=0))
    assert report.results[0].verdict == FAIL
    assert "wrote a line longer than 100000 bytes" in report.results[0].reason


def test_interop_reports_escape_what_the_implementations_wrote(tmp_path, capsys):
    out = tmp_path / "interop.json"
    code = cli_main(["conformance", "interop", "--clients", f"{sys.executable} {HOSTILE} escapes", "--rounds", "1",
                     "--num-clients", "2", "--dim", "2", "--json", str(out)])
    terminal = capsys.readouterr().out
    text = out.read_text("utf-8")
    assert code == 1 and "\\x1b[31mred" in text  # the client's error message, escaped
    assert not any(ch in text + terminal for ch in _RAW)
    jsonschema.validate(json.loads(text), schema("interop-report"))


def test_a_runner_failure_keeps_the_reports(tmp_path, capsys, monkeypatch):
    def broken_summary(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the terminal report")

    monkeypatch.setattr(reports, "print_summary", broken_summary)
    out_json, out_xml = tmp_path / "r.json", tmp_path / "r.xml"
    code = cli("--adapter", "mpksa.ops:REFERENCE", "--json", str(out_json), "--junit-xml", str(out_xml))
    err = capsys.readouterr().err
    assert code == 1 and "runner error: RuntimeError: a bug in the terminal report" in err
    data = json.loads(out_json.read_text())
    assert data["exitCode"] == 1 and data["implementations"][0]["summary"]["pass"] == 9
    assert ET.parse(out_xml).getroot().get("tests") == "9"


def test_an_exception_inside_the_run_keeps_what_was_judged(keygen):
    class Exploding(InProcessSession):
        calls = 0

        def receive(self):  # type: ignore[no-untyped-def]
            Exploding.calls += 1
            if Exploding.calls == 3:
                raise KeyError("runner bug")
            return super().receive()

    report = run(Exploding(ops.REFERENCE, "exploding"), keygen)
    assert "runner error" in report.problem and "KeyError" in report.problem
    assert [r.verdict for r in report.results].count(PASS) == 2
    assert all(r.verdict == ERROR for r in report.results[2:]) and exit_code([report]) == 1


# -- declarations, handshakes, restarts ------------------------------------------------------------


def test_declaring_nothing_says_so(keygen):
    report = run(hostile("declare-nothing"), keygen)
    assert {r.verdict for r in report.results} == {SKIP}
    assert report.problem == "nothing to run: the implementation declares no profile and no operation"
    assert exit_code([report]) == 1


def test_unknown_declared_names_are_named(keygen, capsys):
    report = run(hostile("unknown-names"), keygen)
    assert report.notes == ["declares names this runner does not know (ignored): profile 'V1', operation 'keygen'"]
    assert report.problem.startswith("nothing to run: none of the 9 selected tests is within the declared capabilities")
    assert cli("--impl", f"{sys.executable} {HOSTILE} unknown-names") == 1
    out = capsys.readouterr().out
    assert "operation 'keygen'" in out and "nothing to run" in out


def test_a_failed_handshake_is_reported_once(capsys):
    assert cli_main(["conformance", "run", "--impl", "/nonexistent/impl", "--progress", "off"]) == 1
    out = capsys.readouterr().out
    everything = len(vector_cases.load().cases)
    assert out.count("could not start") == 2  # the problem line and one summary line for every test
    assert f"ERROR {everything} tests not run: handshake failed" in out


def test_a_capability_change_after_a_restart_names_the_field(keygen, tmp_path):
    report = run(hostile("caps-change", str(tmp_path / "state")), keygen)
    restart = next(r.reason for r in report.results if r.verdict == ERROR)
    assert "declared different capabilities after a restart" in restart
    assert "name 'mpksa-reference' -> 'changed'" in restart and "operations lost 'KeyGen'" in restart


def test_a_node_program_that_cannot_start_shows_the_real_error(keygen):
    report = run(SubprocessSession(f"{node_binary()} {ROOT / 'tests' / 'fixtures' / 'cannot_start.mjs'}"), keygen)
    assert "Cannot find package 'mpksa-no-such-package'" in report.problem  # the head of node's report
    assert "Node.js v" in report.problem  # and its tail
    assert len(report.problem) < 4000


def test_in_process_adapter_text_is_bounded_too(keygen):
    class Hostile:
        def capabilities(self) -> dict[str, Any]:
            return ops.REFERENCE.capabilities()

        def handle(self, request: dict[str, Any]) -> Any:
            class Unprintable(Exception):
                def __str__(self) -> str:
                    raise RuntimeError("no")

            raise Unprintable()

    report = run(InProcessSession(Hostile(), "hostile"), keygen[:1])
    assert report.results[0].verdict == FAIL and "<unprintable Unprintable>" in report.results[0].reason


# -- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("option, value", [("--timeout", "-1"), ("--timeout", "0"), ("--timeout", "nan"),
                                           ("--timeout", "inf"), ("--window", "0"), ("--max-restarts", "-1"),
                                           ("--show", "-1")])
def test_bad_numbers_are_refused_before_anything_runs(option, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(option, value)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and ("must be" in err or "expected" in err)


def test_bad_paths_are_refused_before_the_run(tmp_path, capsys):
    for args, says in ((["--vectors", str(tmp_path / "missing")], "does not exist"),
                       (["--vectors", str(HOSTILE)], "is a file, not a folder"),
                       (["--json", str(tmp_path / "missing" / "r.json")], "does not exist"),
                       (["--junit-xml", str(tmp_path / "missing" / "r.xml")], "does not exist"),
                       (["--json", str(tmp_path)], "is a folder")):
        assert cli("--adapter", "mpksa.ops:REFERENCE", *args) == 2
        captured = capsys.readouterr()
        assert says in captured.err and "Traceback" not in captured.err and captured.out == ""


def test_filter_typos_list_the_valid_names(capsys):
    assert cli_main(["conformance", "run", "--op", "enc", "--params", "v1-test-51", "--profile", "V1"]) == 2
    err = capsys.readouterr().err
    assert "unknown --op 'enc' (did you mean 'Enc'?); valid: Agg," in err and "transcript" in err
    assert "unknown --params 'v1-test-51' (did you mean 'v1-test-512'?)" in err
    assert "unknown --profile 'V1'; valid: paper, v1" in err
    assert cli_main(["conformance", "run", "--tc", "3-x"]) == 2
    assert "expected a tcId (7), a range (3-9) or a test id" in capsys.readouterr().err


def test_conformance_list_shows_what_can_be_selected(capsys):
    assert cli_main(["conformance", "list"]) == 0
    out = capsys.readouterr().out
    shipped = vector_cases.load()
    assert f"{len(shipped.cases)} tests in {len(shipped.files)} files" in out
    keygen_count = sum(c.op == "KeyGen" for c in shipped.cases)
    assert any(line.split() == ["KeyGen", str(keygen_count), "tests"] for line in out.splitlines())
    for expected in ("parameter sets (--params):", "v1-test-512", "flags (--flag):", "files (--file;",
                     "v1/v1-test-512/enc.json", "transcript"):
        assert expected in out


def test_a_tc_number_is_per_file_and_one_file_or_a_test_id_selects_one(tmp_path, capsys):
    def count(*filters: str) -> int:
        out = tmp_path / "r.json"
        assert cli_main(["conformance", "run", "--adapter", "mpksa.ops:REFERENCE", "--json", str(out), *filters]) == 0
        return len(json.loads(out.read_text())["implementations"][0]["tests"])

    files_with_enc_3 = {c.file for c in vector_cases.load().cases if c.op == "Enc" and c.tc_id == 3}
    assert count("--op", "Enc", "--tc", "3") == len(files_with_enc_3) > 1
    assert "tcIds are numbered per vector file" in capsys.readouterr().err
    assert count("--file", "v1/v1-test-512/enc.json", "--tc", "3") == 1
    assert count("--tc", "v1/v1-test-512/enc#3") == 1  # the README's "one test"
    assert "numbered per vector file" not in capsys.readouterr().err


def test_the_readme_keygen_template_passes_every_keygen_test(tmp_path, capsys):
    node_binary()  # fails, never skips, without Node.js
    out = tmp_path / "r.json"
    code = cli_main(["conformance", "run", "--impl", "node conformance/examples/keygen.mjs", "--json", str(out),
                     "--progress", "off"])
    data = json.loads(out.read_text())["implementations"][0]
    keygen_tests = [t for t in data["tests"] if t["op"] == "KeyGen"]
    assert [t["id"] for t in keygen_tests if t["verdict"] != PASS] == []
    assert len(keygen_tests) == sum(c.op == "KeyGen" for c in vector_cases.load().cases) > 0
    assert {t["verdict"] for t in data["tests"] if t["op"] != "KeyGen"} == {SKIP}
    assert code == 0, capsys.readouterr().out


# -- malformed vector files --------------------------------------------------------------------------


def _broken_copy(tmp_path: Path) -> Path:
    root = tmp_path / "vectors"  # the schemas, the manifest and one parameter set keep verify short
    shutil.copytree(ROOT / "vectors" / "schema", root / "schema")
    shutil.copytree(ROOT / "vectors" / "v1" / "v1-test-512", root / "v1" / "v1-test-512")
    shutil.copy(ROOT / "vectors" / "manifest.json", root / "manifest.json")
    base = root / "v1" / "v1-test-512"

    def edit(name: str, change: Any) -> None:
        data = json.loads((base / name).read_text())
        change(data)
        (base / name).write_text(json.dumps(data))

    edit("keys.json", lambda d: d.__setitem__("testGroups", 5))                       # a number where a list belongs
    edit("dec.json", lambda d: d["testGroups"][0].__setitem__("tests", {"a": 1}))
    edit("agg.json", lambda d: d["testGroups"][0]["tests"][0].__setitem__("flags", 3))
    text = (base / "enc.json").read_text()
    (base / "enc.json").write_text(text.replace('"numberOfTests": ', '"numberOfTests": NaN, "x": ', 1))  # bare NaN
    return root


def test_malformed_vector_files_give_one_line_each_in_the_runner(tmp_path, capsys):
    root = _broken_copy(tmp_path)
    assert cli_main(["conformance", "run", "--vectors", str(root), "--adapter", "mpksa.ops:REFERENCE",
                     "--params", "v1-test-512", "--progress", "off"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    problems = [line for line in captured.err.splitlines() if line.startswith("vector problem:")]
    assert "vector problem: v1/v1-test-512/keys.json: testGroups must be a list, got an integer" in problems
    assert "vector problem: v1/v1-test-512/dec.json: testGroups[0].tests must be a list, got an object" in problems
    assert "vector problem: v1/v1-test-512/enc.json: not strict JSON (bare NaN is not JSON)" in problems
    assert "malformed vector: flags must be a list of strings, got an integer" in captured.out


def test_malformed_vector_files_give_one_line_each_in_verify(tmp_path, capsys):
    from mpksa.vectors.cli import add_parser  # noqa: F401  (the verify command's own module)
    from mpksa.cli import main as mpksa_main

    root = _broken_copy(tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"] = [1, 2]
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert mpksa_main(["vectors", "verify", "--dir", str(root)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert "FAIL v1/v1-test-512/enc.json: not strict JSON: bare NaN is not JSON" in lines
    assert any(line.startswith("FAIL v1/v1-test-512/keys.json: schema operation.schema.json: testGroups:") for line in lines)
    assert any(line.startswith("FAIL manifest.json: schema manifest.schema.json: files:") for line in lines)


def test_verify_reports_a_check_that_trips_over_a_malformed_test(tmp_path):
    """Found by the vectors campaign: an errata argument of the wrong type stopped verify with a traceback."""
    from mpksa.vectors.verify import verify

    root = tmp_path / "vectors"
    shutil.copytree(ROOT / "vectors", root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = root / "paper" / "paper-test" / "errata.json"
    data = json.loads(path.read_text())
    test = next(t for g in data["testGroups"] for t in g["tests"] if "rng" in t.get("intermediates", {})
                .get("finding", {}).get("arguments", {}))
    test["intermediates"]["finding"]["arguments"]["rng"] = {"x": "an object where a seed string belongs"}
    path.write_text(json.dumps(data))
    report = verify(root, only=lambda relative: relative == "paper/paper-test/errata.json")
    # The errata reader now refuses the argument with a typed error naming the rule (no AttributeError).
    assert any(p.startswith(f"paper/paper-test/errata.json tcId {test['tcId']}:") and "must be an ASCII seed text" in p
               for p in report.problems), report.problems
