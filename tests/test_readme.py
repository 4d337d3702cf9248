"""Every command and example README.md shows is run by a test (the developers' rule, issue 14).

README.md's code blocks are read as they stand. Each command line is
- one of the two opening commands, which `.ci/run` runs (the test command) or this file runs (the
  main job, `mpksa conformance run`);
- a benchmark's quick command, run by tests/test_benchmarks.py (its QUICK_COMMANDS);
- a demo command, run by tests/test_demo.py (its README_COMMANDS);
- or run here, from the repository root, with the placeholder `./my-impl` replaced by the reference
  behind the protocol (the program a reader starts from).
Every Python block is executed. A line this file cannot place fails the test: a new command in the
README needs a test before it lands.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MY_IMPL = f"{sys.executable} -m mpksa.conformance.reference_server"


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, and ("sh", body) of every indented command block."""
    found = [(m.group(1) or "", m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S)]
    fenced_free = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    for m in re.finditer(r"(?:^ {7}.*\n|^\n)+", fenced_free, re.M):
        lines = [line[7:] for line in m.group(0).splitlines() if line.strip()]
        if lines and all(re.match(r"(mpksa|pip|python|node) ", line) for line in lines):
            found.append(("sh", "\n".join(lines) + "\n"))
    return found


def commands() -> list[str]:
    """Every command line of the sh blocks, comments (two spaces, then #) removed."""
    out = []
    for language, body in blocks(README):
        if language in ("sh", ""):
            out += [re.sub(r"\s{2,}#.*$", "", line).strip() for line in body.splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    return out


OPENING = commands()[:2]


def delegated() -> set[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_benchmarks import QUICK_COMMANDS
        from test_demo import README_COMMANDS
    finally:
        sys.path.pop(0)
    return set(QUICK_COMMANDS) | set(README_COMMANDS)


def run_here() -> list[str]:
    return [c for c in commands()[2:] if c not in delegated()]


def test_the_readme_opens_with_the_main_job_and_the_test_command() -> None:
    assert README.startswith("# ") and README.index("```sh\n" + OPENING[0]) < README.index(OPENING[1])
    assert OPENING[0] == "pip install -e . && mpksa conformance run"
    install, test_command = OPENING[1].rsplit(" && ", 1)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == test_command == "python -m pytest -q"
    for step in install.split(" && "):  # .ci/run installs exactly what the README's command installs
        assert any(line.endswith(step.removeprefix("pip install ")) and "pip install" in line for line in ci), step


def test_the_main_job_passes() -> None:
    done = subprocess.run(["mpksa", "conformance", "run", "--progress", "off"], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "all selected tests passed" in done.stdout


def test_every_command_is_placed() -> None:
    placed = set(OPENING) | delegated() | set(run_here())
    assert set(commands()) <= placed
    assert run_here(), "the README shows no command for this file to run"


@pytest.mark.parametrize("command", run_here())
def test_command_runs(command: str, tmp_path: Path) -> None:
    line = command.replace("'./my-impl'", shlex.quote(MY_IMPL)).replace("./my-impl", shlex.quote(MY_IMPL))
    line = line.replace("report.json", str(tmp_path / "report.json")).replace("report.xml", str(tmp_path / "report.xml"))
    line = line.replace("--out /tmp", f"--out {tmp_path}")  # outputs go to the test's own folder
    if line.startswith("pip install"):
        pytest.fail(f"an install command outside the opening two: {command}")
    done = subprocess.run(line, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          executable="/bin/bash")
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("index", range(sum(language == "python" for language, _ in blocks(README))))
def test_python_example_runs(index: int) -> None:
    body = [body for language, body in blocks(README) if language == "python"][index]
    namespace: dict[str, object] = {}
    exec(compile(body, f"README.md python block {index}", "exec"), namespace)  # noqa: S102 - our own README
