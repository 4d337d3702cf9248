"""Data sets of the demo and their split over clients (Sec. 5 setting, with real local data).

- `digits`: scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).
- `mnist`: the MNIST files in their standard IDX format (train-images-idx3-ubyte and friends,
  optionally gzipped) from a local folder.
- `cifar10`: the CIFAR-10 "python version" pickled batches (data_batch_1..5, test_batch) from a
  local folder. Pickle can run code: point --data-dir only at files you trust.
Nothing is ever downloaded. Splits: IID, or non-IID by a Dirichlet(alpha) share of every class.
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpksa.errors import MalformedInputError, ParameterError

DATASETS = ("digits", "mnist", "cifar10")


@dataclass(frozen=True)
class Dataset:
    """Images as float32 (N, C, H, W) scaled to [-1, 1], labels as int64."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])


def _scale(images: np.ndarray, top: float) -> np.ndarray:
    return (images.astype(np.float32) / top * 2.0 - 1.0).astype(np.float32)


def load_digits(seed: int, test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's digits, a stratified train/test split fixed by `seed`."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    x, y = sk_digits(return_X_y=True)
    x = _scale(x.reshape(-1, 1, 8, 8), 16.0)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y.astype(np.int64), test_size=test_fraction,
                                              random_state=seed, stratify=y)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, 10)


# --- MNIST: IDX files -----------------------------------------------------------------------------

_IDX_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format): 2 zero bytes, type 0x08 (unsigned byte), ndim, big-endian dims, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _IDX_UBYTE:
        raise MalformedInputError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise MalformedInputError(f"{path}: {len(data) - header} data bytes, header says shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(folder: Path, stem: str) -> Path:
    """stem with '-' or '.' before 'idx', gzipped or not (both spellings are in circulation)."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for suffix in ("", ".gz"):
            candidate = folder / (name + suffix)
            if candidate.is_file():
                return candidate
    raise ParameterError(f"{folder}: no {stem}[.gz] (MNIST IDX files expected; nothing is downloaded)")


def load_mnist(folder: Path) -> Dataset:
    x_tr = read_idx(_find(folder, "train-images-idx3-ubyte"))
    y_tr = read_idx(_find(folder, "train-labels-idx1-ubyte"))
    x_te = read_idx(_find(folder, "t10k-images-idx3-ubyte"))
    y_te = read_idx(_find(folder, "t10k-labels-idx1-ubyte"))
    for images, labels in ((x_tr, y_tr), (x_te, y_te)):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise MalformedInputError(f"MNIST shapes {images.shape} and {labels.shape} do not match")
    return Dataset("mnist", _scale(x_tr[:, None], 255.0), y_tr.astype(np.int64),
                   _scale(x_te[:, None], 255.0), y_te.astype(np.int64), 10)


# --- CIFAR-10: python pickles ---------------------------------------------------------------------

def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (KeyError, TypeError) as exc:
        raise MalformedInputError(f"{path}: not a CIFAR-10 batch ({exc!r})") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise MalformedInputError(f"{path}: data {data.shape} and labels {labels.shape} are not CIFAR-10 shaped")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(folder: Path) -> Dataset:
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    train_files = sorted(folder.glob("data_batch_*"))
    if not train_files or not (folder / "test_batch").is_file():
        raise ParameterError(f"{folder}: data_batch_* and test_batch expected (CIFAR-10 python version)")
    parts = [_read_cifar_batch(p) for p in train_files]
    x_te, y_te = _read_cifar_batch(folder / "test_batch")
    x_tr = np.concatenate([x for x, _ in parts])
    y_tr = np.concatenate([y for _, y in parts])
    return Dataset("cifar10", _scale(x_tr, 255.0), y_tr, _scale(x_te, 255.0), y_te, 10)


def load(name: str, data_dir: str | None, seed: int) -> Dataset:
    """The named data set; mnist and cifar10 need --data-dir."""
    if name == "digits":
        return load_digits(seed)
    if name not in DATASETS:
        raise ParameterError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if not data_dir:
        raise ParameterError(f"--dataset {name} needs --data-dir with the files in their standard format")
    folder = Path(data_dir)
    return load_mnist(folder) if name == "mnist" else load_cifar10(folder)


# --- splits ---------------------------------------------------------------------------------------

def split_iid(labels: np.ndarray, clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A random permutation cut into `clients` near-equal shares."""
    return [np.sort(part) for part in np.array_split(rng.permutation(len(labels)), clients)]


def split_dirichlet(labels: np.ndarray, clients: int, alpha: float, rng: np.random.Generator,
                    min_size: int = 2, attempts: int = 1000) -> list[np.ndarray]:
    """Non-IID: each class is shared out by proportions ~ Dirichlet(alpha, ..., alpha).

    Small alpha gives each client few classes. Redrawn until every client has `min_size` samples.
    """
    if not alpha > 0:
        raise ParameterError(f"--alpha = {alpha} must be positive")
    for _ in range(attempts):
        shares: list[list[int]] = [[] for _ in range(clients)]
        for c in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == c))
            cuts = (np.cumsum(rng.dirichlet(np.full(clients, alpha))) * len(members)).astype(int)[:-1]
            for i, part in enumerate(np.split(members, cuts)):
                shares[i].extend(part.tolist())
        if min(len(s) for s in shares) >= min_size:
            return [np.sort(np.array(s, dtype=np.int64)) for s in shares]
    raise ParameterError(f"no Dirichlet({alpha}) split gives all {clients} clients {min_size} samples; raise --alpha")


def split(labels: np.ndarray, clients: int, how: str, alpha: float, seed: int) -> list[np.ndarray]:
    if clients < 2:
        raise ParameterError(f"--clients = {clients}: secure aggregation needs at least 2")
    if clients > len(labels) // 2:
        raise ParameterError(f"--clients = {clients} is too many for {len(labels)} training samples")
    rng = np.random.default_rng(seed)
    if how == "iid":
        return split_iid(labels, clients, rng)
    if how == "dirichlet":
        return split_dirichlet(labels, clients, alpha, rng)
    raise ParameterError(f"unknown split {how!r}; use iid or dirichlet")
