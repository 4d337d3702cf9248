"""The independent JavaScript implementation of profiles `v1` and `v2` (javascript, issue 5).

It was written from spec/ alone, so these tests check two things at once: that the JavaScript
code follows the spec, and that the spec (chapters 3 to 6, 9 and 10) is complete enough to write
an interoperable implementation from it. Every check runs Node.js in a subprocess:

- `mpksa conformance run` against every shipped vector of v1-test-512, v1-rsa2048-short,
  v2-test-512 and v2-rsa2048: every test must pass, none may be skipped, failed or in error;
- `mpksa conformance interop` with live randomness on v1-test-512, v2-test-512 and v2-rsa2048,
  the JavaScript server against reference clients and reference server against JavaScript
  clients (full round, dropout before S is fixed, single-client abort): the decrypted sums must
  equal the runner's plaintext sums;
- the JavaScript self-test, `node --test javascript/test.mjs`, and `node javascript/bench.mjs`
  (the timings are printed, never asserted).

Node.js is required: CI has it, and a missing `node` fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import node_binary
from mpksa.wire.contract import OPERATIONS

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / "javascript"
VECTORS = ROOT / "vectors"




def server_command(node: str) -> str:
    return f"{shlex.quote(node)} {shlex.quote(str(JS_DIR / 'server.mjs'))}"


def mpksa_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mpksa.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def shipped_test_count(profile: str, parameter_set: str) -> int:
    """Tests in the vector files of one parameter set, counted from the files themselves."""
    files = sorted((VECTORS / profile / parameter_set).glob("*.json"))
    assert files, f"no vector files for {profile}/{parameter_set}"
    return sum(len(group["tests"]) for path in files for group in json.loads(path.read_text())["testGroups"])


@pytest.mark.parametrize(("profile", "parameter_set"), [("v1", "v1-test-512"), ("v1", "v1-rsa2048-short"),
                                                        ("v2", "v2-test-512"), ("v2", "v2-rsa2048")])
def test_every_shipped_vector_passes(profile: str, parameter_set: str, tmp_path: Path) -> None:
    node = node_binary()
    report_path = tmp_path / "report.json"
    done = mpksa_cli("conformance", "run", "--impl", server_command(node), "--vectors", str(VECTORS),
                     "--profile", profile, "--params", parameter_set, "--json", str(report_path), "--progress", "off")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    (implementation,) = json.loads(report_path.read_text())["implementations"]
    assert implementation["capabilities"]["profiles"] == ["v1", "v2"]
    assert sorted(implementation["capabilities"]["operations"]) == sorted(OPERATIONS)  # the hardening's too
    assert implementation["summary"] == {"pass": shipped_test_count(profile, parameter_set), "fail": 0, "error": 0,
                                         "skip": 0}
    assert implementation["restarts"] == 0


@pytest.mark.parametrize("parameter_set", ["v1-test-512", "v2-test-512", "v2-rsa2048"])
@pytest.mark.parametrize("direction", ["js-server", "js-clients"])
def test_live_interop_with_the_reference(direction: str, parameter_set: str, tmp_path: Path) -> None:
    node = node_binary()
    js, reference = server_command(node), "adapter:mpksa.ops:REFERENCE"
    server, clients = (js, reference) if direction == "js-server" else (reference, js)
    report_path = tmp_path / "interop.json"
    done = mpksa_cli("conformance", "interop", "--server", server, "--clients", clients, "--rounds", "3",
                     "--num-clients", "4", "--dim", "40", "--params", parameter_set, "--json", str(report_path))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] is True and report["problem"] is None
    assert [r["kind"] for r in report["rounds"]] == ["full", "dropout", "single"]
    assert all(r["verdict"] == "pass" for r in report["rounds"]), report["rounds"]
    full, dropout, single = report["rounds"]
    assert len(full["online"]) == 4 and 2 <= len(dropout["online"]) < 4 and len(single["online"]) == 1
    assert "single-client-abort" in single["detail"]


def test_javascript_self_test() -> None:
    node = node_binary()
    done = subprocess.run([node, "--test", str(JS_DIR / "test.mjs")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", done.stdout, re.MULTILINE)
    assert passed and failed and int(passed.group(1)) >= 35 and int(failed.group(1)) == 0, done.stdout[-2000:]


def test_javascript_timings_run() -> None:
    """`node javascript/bench.mjs` (README) runs to the end on every v1 and v2 set; times are not asserted."""
    node = node_binary()
    done = subprocess.run([node, str(JS_DIR / "bench.mjs")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for name in ("v1-test-512", "v1-rsa2048-short", "v1-rsa2048-full", "v2-test-512", "v2-rsa2048"):
        assert re.search(rf"^  {name}: [0-9.]+, [0-9.]+, [0-9.]+$", done.stdout, re.MULTILINE), done.stdout
