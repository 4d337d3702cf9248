"""The commands of flower/README.md, run as they stand: the example on Flower's simulation engine,
and on the deployment runtime with a SuperLink and three SuperNodes as local processes, one of
which is killed by its pid in the middle of a round.

Lines run one by one in bash, in a scratch folder that links to this repository's `flower/`, with
the environment each line exports kept for the next; a line ending in ' &' becomes a process this
test owns. Ports are free ports found at run time; the Flower commands run under this interpreter
(fixtures/flower_processes.py). The fixture stops every process by its pid, also on failure.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from fixtures.flower_processes import (
    Processes,
    alive,
    background,
    flower_env,
    free_port,
    readme_blocks,
    shim_bin,
)

pytestmark = pytest.mark.runtime

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = readme_blocks(ROOT / "flower" / "README.md")
ROUND = re.compile(r"MPKSA round (\d+): aggregated over (\d+) clients in (\d+) attempt\(s\) \(weight sum (\d+)\)")
ACCURACY = re.compile(r"fit progress: \((\d+), [^,]+, \{'accuracy': ([0-9.]+)\}")

sys.path.insert(0, str(ROOT / "flower" / "example"))
from mpksa_example import task  # noqa: E402


class Shell:
    """Runs README lines in bash, keeping what each exports for the next."""

    def __init__(self, folder: Path, env: dict[str, str], processes: Processes) -> None:
        self.folder, self.env, self.processes = folder, env, processes
        self.state = folder / "exports.sh"
        self.state.write_text("")

    def wrap(self, line: str) -> str:
        return f"source {self.state} && {line}"

    def run(self, line: str) -> None:
        import subprocess

        done = subprocess.run(["bash", "-c", f"source {self.state} && {line} && export -p > {self.state}"],
                              cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"

    def start(self, name: str, line: str):  # type: ignore[no-untyped-def]
        command = background(line) or line
        # exec: the process this test owns is the command itself, not a shell around it.
        return self.processes.start(name, f"bash -c {quote(self.wrap('exec ' + command))}", self.env, self.folder)


def quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


@pytest.fixture
def processes(tmp_path: Path):  # type: ignore[no-untyped-def]
    owned = Processes(tmp_path / "logs")
    yield owned
    assert owned.stop_all() == [], "processes survived their SIGKILL"


@pytest.fixture
def shell(tmp_path: Path, processes: Processes) -> Shell:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "flower").symlink_to(ROOT / "flower")
    ports = {"LINK_PORT": free_port()} | {f"NODE_PORT_{i}": free_port() for i in range(3)}
    env = flower_env(tmp_path / "unused-home", shim_bin(tmp_path / "bin"), **{k: str(v) for k, v in ports.items()})
    shell = Shell(folder, env, processes)
    for line in BLOCKS["connection"]:
        shell.run(line)
    return shell


def listening(log: str) -> bool:
    return "Uvicorn running on" in log


def rounds_of(log: str) -> dict[int, tuple[int, int, int]]:
    return {int(m[1]): (int(m[2]), int(m[3]), int(m[4])) for m in ROUND.finditer(log)}


def test_readme_runs_the_example_on_the_simulation_engine(shell: Shell, processes: Processes):
    superlink, run = BLOCKS["simulation"]
    assert background(superlink) and not background(run)
    shell.start("superlink", superlink)
    processes.wait_for(lambda: listening(processes.log("superlink")), 60, "superlink to listen")
    flwr = shell.start("flwr-run", run)
    processes.wait_for(lambda: flwr.poll() is not None, 240, "flwr-run to finish")
    log = processes.log("flwr-run")
    assert flwr.returncode == 0, log[-3000:]
    train = len(task.partition(0, 1)[1])
    assert rounds_of(log) == {r: (10, 1, train) for r in (1, 2, 3)}, log[-3000:]
    accuracy = {int(m[1]): float(m[2]) for m in ACCURACY.finditer(log)}
    assert sorted(accuracy) == [1, 2, 3] and accuracy[3] > 0.85, accuracy


def test_readme_deploys_the_example_and_survives_a_supernode_killed_mid_round(shell: Shell, processes: Processes):
    superlink, *supernodes, run = BLOCKS["deployment"]
    assert background(superlink) and len(supernodes) == 3 and all(map(background, supernodes))
    shell.start("superlink", superlink)
    processes.wait_for(lambda: listening(processes.log("superlink")), 60, "superlink to listen")
    for i, line in enumerate(supernodes):
        shell.start(f"supernode-{i}", line)
    for i in range(3):
        processes.wait_for(lambda i=i: "SuperNode ID" in processes.log(f"supernode-{i}"), 60, f"supernode-{i} to register")
    flwr = shell.start("flwr-run", run)

    # SuperNode 2's second train message of round 1 is the upload stage: S is fixed with it in S.
    # Its ClientApp process takes a second to start, so the kill lands before anything is uploaded.
    processes.wait_for(lambda: processes.log("supernode-2").count("Receiving: train message") >= 2, 120,
                       "supernode-2 to receive the upload stage")
    killed = processes.kill("supernode-2")
    processes.wait_for(lambda: not any(alive(pid) for pid in killed), 10, "the killed processes to go")

    processes.wait_for(lambda: flwr.poll() is not None, 180, "flwr-run to finish")
    log = processes.log("flwr-run")
    assert flwr.returncode == 0, log[-3000:]
    # S of three; the killed node never uploads; the attempt aborts and is re-run by the other two.
    assert re.search(r"MPKSA round 1 attempt 1: S fixed with 3 clients", log), log[-3000:]
    assert re.search(r"MPKSA attempt 1 aborted: node \d+ failed at upload \(timeout\)", log), log[-3000:]
    weight = sum(len(task.partition(i, 3)[1]) for i in (0, 1))
    assert rounds_of(log) == {1: (2, 2, weight)}, log[-3000:]
    accuracy = {int(m[1]): float(m[2]) for m in ACCURACY.finditer(log)}
    assert accuracy[1] > 0.8, accuracy  # the model moved by the two clients' average
