"""The learning task: softmax regression on scikit-learn's bundled digits (8x8 images, 10 classes).

Everything is numpy; the data ships with scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

FEATURES, CLASSES = 64, 10
TEST_FRACTION = 0.2


def _split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): a fixed shuffle, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits  # here: importing scikit-learn takes seconds

    digits = load_digits()
    x, y = digits.data / 16.0, digits.target
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(len(y) * (1 - TEST_FRACTION))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def partition(partition_id: int, num_partitions: int) -> tuple[np.ndarray, np.ndarray]:
    """Client `partition_id`'s share of the training set: every num_partitions-th example."""
    x, y, _, _ = _split()
    return x[partition_id::num_partitions], y[partition_id::num_partitions]


def test_set() -> tuple[np.ndarray, np.ndarray]:
    _, _, x, y = _split()
    return x, y


def initial_model() -> list[np.ndarray]:
    """Weights (64 x 10) and biases (10), all zero."""
    return [np.zeros((FEATURES, CLASSES)), np.zeros(CLASSES)]


def _probabilities(model: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    logits = x @ model[0] + model[1]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def train(model: list[np.ndarray], x: np.ndarray, y: np.ndarray, epochs: int, lr: float, batch_size: int,
          rng: np.random.Generator) -> list[np.ndarray]:
    """Mini-batch SGD on the cross-entropy; returns the trained model."""
    w, b = model[0].copy(), model[1].copy()
    onehot = np.eye(CLASSES)[y]
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start:start + batch_size]
            error = _probabilities([w, b], x[batch]) - onehot[batch]
            w -= lr * x[batch].T @ error / len(batch)
            b -= lr * error.mean(axis=0)
    return [w, b]


def evaluate(model: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(cross-entropy loss, accuracy)."""
    p = _probabilities(model, x)
    loss = float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())
    return loss, float((p.argmax(axis=1) == y).mean())
