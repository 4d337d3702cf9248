"""The federated-learning demo: secure training matches FedAvg, sums are exact, loaders read real formats.

Sized for CI on one core: digits, 4 clients, a narrow CNN, v1-test-512 where exactness (not the
modulus) is the point, and one round on v1-rsa2048-short.
"""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from mpksa.cli import main as mpksa_main
from mpksa.demo import data as datasets
from mpksa.demo import fedavg
from mpksa.demo.aggregators import RoundLog, V1Aggregator
from mpksa.encoding import Encoding
from mpksa.errors import MalformedInputError, ParameterError

CI = dict(dataset="digits", clients=4, epochs=2, width=6, batch_size=16, workers=1, threads=1, seed=3)


def expected_weighted_sums(updates: dict[int, np.ndarray], weights: dict[int, int], frac_bits: int,
                           clip: float) -> list[int]:
    """sum_i w_i * round_half_even(clip(x) * 2^f), with Python integers, coordinate by coordinate."""
    dim = len(next(iter(updates.values())))
    return [sum(weights[i] * round(max(-clip, min(clip, float(u[t]))) * 2**frac_bits) for i, u in updates.items())
            for t in range(dim)]


@pytest.mark.parametrize("params_name", ["v1-test-512", "v1-rsa2048-short"])
def test_decrypted_aggregate_equals_quantized_plaintext_sum(params_name: str) -> None:
    rng = np.random.default_rng(8)
    weights = {0: 17, 1: 3, 2: 40}
    dim = 700 if params_name == "v1-test-512" else 300
    encoding = Encoding(frac_bits=20, clip=1.0, weight_max=40, max_clients=3)
    aggregator = V1Aggregator(params_name, weights, encoding, dim, workers=1)
    # Includes values beyond the clip and exact halves of the quantization step.
    updates = {i: rng.normal(0, 0.6, dim) for i in weights}
    updates[1][:4] = [1.7, -3.0, 0.5 / 2**20, -1.5 / 2**20]
    aggregator.broadcast(1, b"model bytes", list(weights), RoundLog())
    average = aggregator.aggregate(1, updates, RoundLog())
    weighted, weight_sum = aggregator.last_sums
    expected = expected_weighted_sums(updates, weights, 20, 1.0)
    assert weighted.tolist() == expected
    assert weight_sum == 60
    assert np.allclose(average, np.array(expected, dtype=float) / 60 / 2**20, rtol=0, atol=1e-15)


@pytest.fixture(scope="module")
def plain_and_v1() -> dict:
    config = fedavg.DemoConfig(**CI, rounds=3, params="v1-test-512", modes=("plaintext", "v1"))
    return fedavg.run(config)


def test_v1_training_accuracy_within_half_a_point_of_fedavg(plain_and_v1: dict) -> None:
    plain = plain_and_v1["modes"]["plaintext"]["rounds"]
    secure = plain_and_v1["modes"]["v1"]["rounds"]
    assert len(plain) == len(secure) == 3
    # The models learned something (so equal accuracies are not two untrained models).
    assert plain[-1]["accuracy"] > plain_and_v1["initial"]["accuracy"] + 0.2
    assert abs(100 * plain[-1]["accuracy"] - 100 * secure[-1]["accuracy"]) <= 0.5
    assert all(r["notes"]["exact"] for r in secure)


def test_round_logs_count_protocol_messages(plain_and_v1: dict) -> None:
    """Bytes per phase follow from u segments of 3 elements up, u down and u up, elements of |n^2|/8 bytes."""
    r = plain_and_v1["modes"]["v1"]["rounds"][0]
    u, clients, element = plain_and_v1["segments_per_client"], 4, 128  # v1-test-512: n^2 has 1024 bits
    assert r["bytes_up"] == {"encrypt": 3 * u * element * clients, "respond": u * element * clients}
    assert r["bytes_down"]["challenge"] == u * element * clients
    model_bytes = 4 * plain_and_v1["model"]["parameters"]
    assert r["bytes_down"]["broadcast"] == clients * (element + 12 + model_bytes + 16)
    assert set(r["seconds"]) == {"broadcast", "train", "encrypt", "challenge", "respond", "decrypt"}


def test_two_round_cli_run_writes_everything(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code = mpksa_main(["demo", "--rounds", "2", "--clients", "4", "--epochs", "1", "--width", "4",
                       "--params", "v1-test-512", "--paper-params", "paper-512", "--workers", "1",
                       "--split", "dirichlet", "--alpha", "1.0", "--dropout-rate", "0.2", "--seed", "5",
                       "--out", str(out), "--quiet"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    for name in ("accuracy.png", "time.png", "bytes.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(results["modes"]) == {"plaintext", "v1", "paper"}
    for mode in results["modes"].values():
        assert [r["round"] for r in mode["rounds"]] == [1, 2]
    onlines = [r["online"] for r in results["modes"]["v1"]["rounds"]]
    assert onlines == [r["online"] for r in results["modes"]["paper"]["rounds"]]  # same S in every mode
    ran = [r for r in results["modes"]["v1"]["rounds"] if not r["notes"].get("skipped")]
    assert all(r["notes"]["exact"] for r in ran)
    # Finding E1: the printed equations never decrypt to the sum.
    paper = [r for r in results["modes"]["paper"]["rounds"] if "decrypted_sum_correct" in r["notes"]]
    assert paper and not any(r["notes"]["decrypted_sum_correct"] for r in paper)
    assert sum(results["dataset"]["client_sizes"]) == results["dataset"]["train"]


def test_dropouts_leave_clients_out_before_s_is_fixed() -> None:
    rng = np.random.default_rng(0)
    sets = [fedavg.online_set(rng, 10, 0.3) for _ in range(200)]
    mean = np.mean([len(s) for s in sets])
    assert 6.0 < mean < 8.0  # 10 * 0.7 on average
    assert fedavg.online_set(np.random.default_rng(1), 5, 0.0) == [0, 1, 2, 3, 4]


def test_bad_settings_are_typed_errors() -> None:
    with pytest.raises(ParameterError):
        fedavg.DemoConfig(modes=("plaintext", "nope")).check()
    with pytest.raises(ParameterError):
        fedavg.DemoConfig(dropout_rate=1.0).check()
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
