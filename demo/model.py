"""The demo's small CNN, local training (Sec. 2, phase 1) and evaluation, in PyTorch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mpksa.errors import ParameterError


class SmallCNN(nn.Module):
    """conv3x3(w) - ReLU - maxpool - conv3x3(2w) - ReLU - avgpool to 2x2 - linear.

    The adaptive pooling makes one architecture fit 8x8 digits, 28x28 MNIST and 32x32 CIFAR-10;
    width 16 gives 6,090 parameters on digits.
    """

    def __init__(self, channels: int, classes: int, width: int = 16) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
            nn.Flatten(), nn.Linear(8 * width, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def choose_device(name: str) -> torch.device:
    """auto: CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParameterError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise ParameterError(f"--device {name!r}: use auto, cpu or cuda")
    return torch.device(name)


def get_vector(model: nn.Module) -> np.ndarray:
    """All parameters as one float64 vector (the global model W, or a local one)."""
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().cpu().double().numpy()


def get_arrays(model: nn.Module) -> list[np.ndarray]:
    """The parameters as float32 arrays, one per tensor: the model as Flower carries it."""
    return [p.detach().cpu().numpy().astype(np.float32) for p in model.parameters()]


def vector_of(arrays: list[np.ndarray]) -> np.ndarray:
    """Flower's arrays as one float64 vector (get_vector's layout)."""
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def arrays_of(vector: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    """A float64 vector back into float32 arrays shaped like `like`."""
    out, start = [], 0
    for a in like:
        out.append(vector[start:start + a.size].reshape(a.shape).astype(np.float32))
        start += a.size
    return out


def set_vector(model: nn.Module, vector: np.ndarray) -> None:
    reference = next(model.parameters())
    flat = torch.as_tensor(vector, dtype=reference.dtype, device=reference.device)
    torch.nn.utils.vector_to_parameters(flat, model.parameters())


@dataclass(frozen=True)
class TrainSettings:
    """Sec. 5 defaults: 5 local epochs, learning rate 0.01 (SGD; momentum and batch size are ours)."""

    epochs: int = 5
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 16


def local_update(model: nn.Module, global_vector: np.ndarray, x: torch.Tensor, y: torch.Tensor,
                 settings: TrainSettings, seed: int) -> np.ndarray:
    """Train from W on local data; return the update W_local - W (float64).

    `seed` fixes the batch order, so every mode of the demo sees the same local training.
    """
    set_vector(model, global_vector)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(settings.epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), settings.batch_size):
            batch = order[start:start + settings.batch_size].to(x.device)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return get_vector(model) - global_vector


@torch.no_grad()
def evaluate(model: nn.Module, vector: np.ndarray, x: torch.Tensor, y: torch.Tensor,
             batch: int = 2048) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of the model with parameters `vector`."""
    set_vector(model, vector)
    model.eval()
    correct, loss = 0, 0.0
    for start in range(0, len(y), batch):
        logits = model(x[start:start + batch])
        loss += float(nn.functional.cross_entropy(logits, y[start:start + batch], reduction="sum"))
        correct += int((logits.argmax(1) == y[start:start + batch]).sum())
    return correct / len(y), loss / len(y)
