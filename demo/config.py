"""Settings of a demo run, importable without PyTorch or Flower (the `mpksa` CLI loads this at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from mpksa.errors import ParameterError

FLOWER_MODES = ("plaintext", "v1", "v2", "secagg+")  # run on Flower (mpksa.flower.compare)
MODES = ("plaintext", "v1", "v2", "paper", "secagg+")
ENGINES = ("simulation", "local")


@dataclass
class DemoConfig:
    """Every knob of a demo run; defaults follow the paper's Sec. 5 where it states them."""

    dataset: str = "digits"
    data_dir: str | None = None
    split: str = "iid"
    alpha: float = 0.5
    clients: int = 10
    rounds: int = 20
    epochs: int = 5
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 16
    width: int = 16
    dropout_rate: float = 0.0
    params: str = "v1-rsa2048-short"
    v2_params: str = "v2-rsa2048"
    paper_params: str = "paper-512"
    modes: tuple[str, ...] = MODES
    engine: str = "simulation"
    hardened: bool = False  # the MPKSA modes run the hardening (spec 5.13, 5.14)
    frac_bits: int = 20
    clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    workers: int | None = None
    threads: int | None = 1  # one PyTorch thread per client suits the small CNN; raise it for MNIST/CIFAR-10

    def check(self) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown or not self.modes:
            raise ParameterError(f"--modes {','.join(self.modes)}: choose among {', '.join(MODES)}")
        if self.engine not in ENGINES:
            raise ParameterError(f"--engine {self.engine!r}: choose among {', '.join(ENGINES)}")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ParameterError(f"--dropout-rate = {self.dropout_rate} must lie in [0, 1)")
        for name in ("rounds", "epochs", "batch_size", "width"):
            if getattr(self, name) < 1:
                raise ParameterError(f"--{name.replace('_', '-')} = {getattr(self, name)} must be at least 1")


class Reporter:
    """Progress callbacks; this base class shows nothing (see cli.RichReporter)."""

    def start(self, modes: tuple[str, ...], rounds: int) -> None: ...

    def round_done(self, mode: str, round_id: int, accuracy: float, seconds: float) -> None: ...

    def stop(self) -> None: ...
