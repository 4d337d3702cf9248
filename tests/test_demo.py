"""The federated-learning demo: secure training matches FedAvg, sums are exact, loaders read real formats.

Sized for CI: digits, a narrow CNN, the insecure test moduli where exactness (not the modulus) is
the point. The detailed checks run the demo's Flower nodes in this process (`engine="local"`); one
run of `mpksa demo` as a user types it goes through Flower's simulation engine (Ray).
"""

from __future__ import annotations

import gzip
import json
import pickle
import shlex
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from fixtures.flower_harness import PARAMS, PARAMS_V2  # sets the Flower environment first
from fixtures.flower_processes import readme_blocks

from mpksa.cli import main as mpksa_main
from mpksa.demo import data as datasets
from mpksa.demo import fedavg, report
from mpksa.demo.config import DemoConfig
from mpksa.errors import MalformedInputError, ParameterError
from mpksa.params import parameter_set

ROOT = Path(__file__).resolve().parents[1]
README_COMMANDS = tuple(readme_blocks(ROOT / "flower" / "README.md")["demo"])  # README.md shows the same; run below
CI = dict(dataset="digits", epochs=2, width=6, batch_size=16, workers=1, threads=1, seed=3,
          params=PARAMS, v2_params=PARAMS_V2)


@pytest.fixture(scope="module")
def local_run() -> dict:
    config = DemoConfig(**CI, clients=4, rounds=3, engine="local")
    return fedavg.run(config)


def test_v1_and_v2_decrypt_the_exact_sums_and_train_like_fedavg(local_run: dict) -> None:
    modes = local_run["modes"]
    assert list(modes) == ["plaintext", "v1", "v2", "paper", "secagg+"]
    plain = modes["plaintext"]["rounds"]
    # The models learned something (so equal accuracies are not two untrained models).
    assert plain[-1]["accuracy"] > local_run["initial"]["accuracy"] + 0.2
    for mode in ("v1", "v2"):
        rounds = modes[mode]["rounds"]
        assert [r["notes"]["exact"] for r in rounds] == [True] * 3, mode
        assert [r["notes"]["new_keys"] for r in rounds] == [4, 0, 0]  # each client kept its key pair
        assert abs(100 * plain[-1]["accuracy"] - 100 * rounds[-1]["accuracy"]) <= 0.5, mode
    assert abs(100 * plain[-1]["accuracy"] - 100 * modes["secagg+"]["rounds"][-1]["accuracy"]) <= 1.0
    # Finding E1: the printed equations never decrypt to the sum.
    assert not any(r["notes"]["decrypted_sum_correct"] for r in modes["paper"]["rounds"])


def test_bytes_per_client_are_the_protocol_messages(local_run: dict) -> None:
    """Per client and round, v1 sends pk_i, 3 elements per segment and 1 response per segment; v2
    the carrier's 3 elements, 1 per segment and 1 response; elements of |n^2|/8 bytes, plus framing."""
    element = (parameter_set(PARAMS).n2.bit_length() + 7) // 8
    for mode, elements in (("v1", lambda u: 1 + 4 * u), ("v2", lambda u: 1 + 3 + u + 1)):
        u = local_run["segments_per_client"][mode]
        for r in local_run["modes"][mode]["rounds"]:
            assert elements(u) * element < r["bytes_up"] < elements(u) * element + 3000, mode
    summary = report.summarize(local_run)
    up = {mode: s["mean_bytes_up_per_client"] for mode, s in summary.items()}
    assert up["plaintext"] < up["v2"] < up["v1"]
    assert all(s["mean_seconds_per_round"] > 0 for s in summary.values())


def test_the_hardened_modes_decrypt_the_exact_sums() -> None:
    results = fedavg.run(DemoConfig(**CI, clients=3, rounds=2, engine="local", hardened=True, modes=("v1", "v2")))
    for mode in ("v1", "v2"):
        assert [r["notes"]["exact"] for r in results["modes"][mode]["rounds"]] == [True, True]
    assert results["config"]["hardened"] is True


def test_every_mode_has_the_same_online_sets_and_rounds(local_run: dict) -> None:
    onlines = {mode: [r["online"] for r in history["rounds"]] for mode, history in local_run["modes"].items()}
    assert len({json.dumps(o) for o in onlines.values()}) == 1
    assert all([r["round"] for r in h["rounds"]] == [1, 2, 3] for h in local_run["modes"].values())


def test_demo_on_the_simulation_engine_writes_everything(tmp_path: Path) -> None:
    """flower/README.md's `mpksa demo` as it stands, on Ray: ten clients, two rounds, one of them
    dropping out of round 2; the MPKSA modes decrypt exactly the sums of the updates the clients
    trained (the issue's simulation test: the nodes run in Ray's worker processes, each keeping its
    key pair in its context)."""
    (line,) = README_COMMANDS
    assert f"\n{line}\n" in (ROOT / "README.md").read_text()  # the main README shows the same run
    argv = shlex.split(line)
    assert argv[:2] == ["mpksa", "demo"] and argv[-2] == "--out"
    out = tmp_path / "demo"
    code = mpksa_main(argv[1:-1] + [str(out), "--quiet", "--workers", "1"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    for name in ("accuracy.png", "time.png", "bytes.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    modes = ["plaintext", "v1", "v2", "paper", "secagg+"]
    assert results["config"]["modes"] == modes and set(results["modes"]) == set(modes)
    onlines = [r["online"] for r in results["modes"]["v1"]["rounds"]]
    assert onlines == [list(range(10)), [i for i in range(10) if i != 4]]  # seed 3 drops client 4 in round 2
    for mode in ("v1", "v2"):
        rounds = results["modes"][mode]["rounds"]
        assert [r["notes"]["exact"] for r in rounds] == [True, True]
        assert [r["notes"]["clients"] for r in rounds] == [10, 9]
        assert [r["notes"]["new_keys"] for r in rounds] == [10, 0]  # the nine of round 2 kept their keys
    assert results["summary"]["paper"]["correct_decryptions"] == 0
    assert all(results["summary"][m]["skipped_rounds"] == 0 for m in ("plaintext", "secagg+"))
    assert sum(results["dataset"]["client_sizes"]) == results["dataset"]["train"]
    assert results["seconds"]["total"] > 0


def test_out_creates_only_its_last_folder_and_refuses_a_missing_parent(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    code = mpksa_main(["demo", "--out", str(missing), "--quiet"])  # refused before any training
    assert code == 2 and not (tmp_path / "no").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mpksa: error [invalid-parameters]: --out") and "does not exist" in err[0]
    assert report.prepare_out(tmp_path / "new") == tmp_path / "new" and (tmp_path / "new").is_dir()
    assert report.prepare_out(tmp_path / "new") == tmp_path / "new"  # an existing folder is fine
    (tmp_path / "file").write_text("")
    with pytest.raises(ParameterError):
        report.prepare_out(tmp_path / "file")


def test_bytes_read_in_decimal_units() -> None:
    assert [report.human_bytes(x) for x in (950, 12_345, 4_560_000, 1.2e9)] == ["950 B", "12.3 kB", "4.56 MB", "1.2 GB"]


def test_dropouts_leave_clients_out_before_s_is_fixed() -> None:
    rng = np.random.default_rng(0)
    sets = [fedavg.online_set(rng, 10, 0.3) for _ in range(200)]
    mean = np.mean([len(s) for s in sets])
    assert 6.0 < mean < 8.0  # 10 * 0.7 on average
    assert fedavg.online_set(np.random.default_rng(1), 5, 0.0) == [0, 1, 2, 3, 4]


def test_bad_settings_are_typed_errors() -> None:
    with pytest.raises(ParameterError):
        DemoConfig(modes=("plaintext", "nope")).check()
    with pytest.raises(ParameterError):
        DemoConfig(dropout_rate=1.0).check()
    with pytest.raises(ParameterError):
        DemoConfig(engine="spark").check()
    with pytest.raises(ParameterError):
        datasets.load("mnist", None, 0)
    with pytest.raises(ParameterError):
        datasets.split(np.zeros(100, dtype=int), 1, "iid", 0.5, 0)


# --- data ---------------------------------------------------------------------------------------

def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_loader_reads_idx_files(tmp_path: Path, compress: bool) -> None:
    rng = np.random.default_rng(0)
    train_x, test_x = rng.integers(0, 256, (12, 28, 28)), rng.integers(0, 256, (5, 28, 28))
    train_y, test_y = rng.integers(0, 10, 12), rng.integers(0, 10, 5)
    write_idx(tmp_path / "train-images-idx3-ubyte", train_x, compress)
    write_idx(tmp_path / "train-labels-idx1-ubyte", train_y, compress)
    write_idx(tmp_path / "t10k-images.idx3-ubyte", test_x, compress)  # the other spelling in circulation
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", test_y, compress)
    ds = datasets.load("mnist", str(tmp_path), 0)
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    assert ds.y_train.tolist() == train_y.tolist() and ds.y_test.tolist() == test_y.tolist()
    assert np.allclose(ds.x_train[:, 0], train_x / 255 * 2 - 1, atol=1e-6)  # float32


def test_mnist_loader_refuses_a_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\0\0\0\0")
    with pytest.raises(MalformedInputError):
        datasets.read_idx(path)
    path.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2]))  # header says 5 bytes, 2 follow
    with pytest.raises(MalformedInputError):
        datasets.read_idx(path)


def test_cifar10_loader_reads_python_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for name, count in (("data_batch_1", 6), ("data_batch_2", 4), ("test_batch", 3)):
        batches[name] = (rng.integers(0, 256, (count, 3072), dtype=np.uint8), rng.integers(0, 10, count).tolist())
        with open(folder / name, "wb") as handle:
            pickle.dump({b"data": batches[name][0], b"labels": batches[name][1], b"batch_label": name.encode()}, handle)
    ds = datasets.load("cifar10", str(tmp_path), 0)
    assert ds.x_train.shape == (10, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32)
    assert ds.y_train.tolist() == batches["data_batch_1"][1] + batches["data_batch_2"][1]
    # Channel-major rows: the first 1024 bytes are the red plane.
    assert np.allclose(ds.x_train[0, 0].reshape(-1), batches["data_batch_1"][0][0, :1024] / 255 * 2 - 1, atol=1e-6)


def test_splits_partition_the_training_set() -> None:
    labels = np.repeat(np.arange(10), 50)
    for how in ("iid", "dirichlet"):
        shares = datasets.split(labels, 7, how, 0.3, seed=4)
        joined = np.concatenate(shares)
        assert sorted(joined.tolist()) == list(range(500))
        assert min(len(s) for s in shares) >= 2
    assert [s.tolist() for s in datasets.split(labels, 7, "dirichlet", 0.3, 4)] == \
        [s.tolist() for s in datasets.split(labels, 7, "dirichlet", 0.3, 4)]


def test_small_alpha_gives_each_client_fewer_classes() -> None:
    labels = np.repeat(np.arange(10), 100)

    def mean_classes(shares: list[np.ndarray]) -> float:
        return float(np.mean([len(np.unique(labels[s])) for s in shares]))

    iid = mean_classes(datasets.split(labels, 10, "iid", 0.0, 0))
    skewed = mean_classes(datasets.split(labels, 10, "dirichlet", 0.1, 0))
    assert iid == 10.0 and skewed < 6.0
