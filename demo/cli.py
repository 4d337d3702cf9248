"""`mpksa demo`: FedAvg with plaintext, v1, v2, paper and Flower's SecAgg+ aggregation side by side,
on Flower's simulation engine."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from .config import ENGINES, MODES, DemoConfig, Reporter


class RichReporter(Reporter):
    """One progress bar per mode: its rounds, with the last round's accuracy and seconds."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[last]}"), TimeElapsedColumn(), transient=False)
        self.tasks: dict[str, Any] = {}

    def start(self, modes: tuple[str, ...], rounds: int) -> None:
        self.progress.start()
        for mode in modes:
            self.tasks[mode] = self.progress.add_task(mode, total=rounds, last="")

    def round_done(self, mode: str, round_id: int, accuracy: float, seconds: float) -> None:
        self.progress.update(self.tasks[mode], completed=round_id,
                             last=f"round {round_id}: {100 * accuracy:.1f}%, {seconds:.2f} s")

    def stop(self) -> None:
        self.progress.stop()


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="federated learning demo: plaintext, v1, v2, paper and SecAgg+ on Flower",
                              description=__doc__)
    d = DemoConfig()
    p.add_argument("--dataset", default=d.dataset, choices=["digits", "mnist", "cifar10"],
                   help="digits is bundled with scikit-learn; mnist/cifar10 read --data-dir (default: %(default)s)")
    p.add_argument("--data-dir", default=None, help="folder with MNIST IDX files or CIFAR-10 python batches")
    p.add_argument("--split", default=d.split, choices=["iid", "dirichlet"], help="client split (default: %(default)s)")
    p.add_argument("--alpha", type=float, default=d.alpha, help="Dirichlet concentration (default: %(default)s)")
    p.add_argument("--clients", type=int, default=d.clients, help="number of clients (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=d.rounds, help="training rounds (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="local epochs per round (default: %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="local learning rate (default: %(default)s)")
    p.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="local batch size (default: %(default)s)")
    p.add_argument("--width", type=int, default=d.width, help="CNN width (default: %(default)s)")
    p.add_argument("--dropout-rate", type=float, default=d.dropout_rate,
                   help="probability that a client drops out of a round before S is fixed (default: %(default)s)")
    p.add_argument("--params", default=d.params, help="v1 parameter set (default: %(default)s; v1-test-512 for speed, insecure)")
    p.add_argument("--v2-params", default=d.v2_params, help="v2 parameter set (default: %(default)s; v2-test-512 for speed, insecure)")
    p.add_argument("--paper-params", default=d.paper_params, help="paper parameter set (default: %(default)s)")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of %(default)s")
    p.add_argument("--hardened", action="store_true",
                   help="v1 and v2 run the hardening: proofs of knowledge, announcements, element checks")
    p.add_argument("--engine", default=d.engine, choices=ENGINES,
                   help="simulation: Flower's simulation engine (Ray); local: the same nodes in this process (default: %(default)s)")
    p.add_argument("--frac-bits", type=int, default=d.frac_bits, help="fixed-point bits (default: %(default)s)")
    p.add_argument("--clip", type=float, default=d.clip, help="updates are clipped to +-clip (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of data split, model and batches; never of keys (default: %(default)s)")
    p.add_argument("--device", default=d.device, choices=["auto", "cpu", "cuda"], help="auto = CUDA when available (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="the server's processes for exponentiations (default: all cores)")
    p.add_argument("--threads", type=int, default=d.threads, help="PyTorch threads; 0 = PyTorch's choice (default: %(default)s)")
    p.add_argument("--out", default="demo-output", help="output folder, created if its parent exists (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def config_from_args(args: argparse.Namespace) -> DemoConfig:
    return DemoConfig(
        dataset=args.dataset, data_dir=args.data_dir, split=args.split, alpha=args.alpha, clients=args.clients,
        rounds=args.rounds, epochs=args.epochs, lr=args.lr, momentum=args.momentum, batch_size=args.batch_size,
        width=args.width, dropout_rate=args.dropout_rate, params=args.params, v2_params=args.v2_params,
        paper_params=args.paper_params, modes=tuple(m.strip() for m in args.modes.split(",") if m.strip()),
        engine=args.engine, hardened=args.hardened, frac_bits=args.frac_bits,
        clip=args.clip, seed=args.seed, device=args.device, workers=args.workers, threads=args.threads,
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from . import fedavg, report

    config = config_from_args(args)
    config.check()
    out = report.prepare_out(Path(args.out))  # before hours of training, not after
    flower_log = logging.getLogger("flwr")
    flower_log.setLevel(logging.WARNING)  # the progress bars say what Flower's INFO lines would
    flower_log.addFilter(lambda record: "DEPRECATED FEATURE" not in record.getMessage())  # run_simulation's notice
    start = time.perf_counter()
    results = fedavg.run(config, None if args.quiet else RichReporter())
    results["seconds"]["total"] = time.perf_counter() - start
    results["summary"] = report.summarize(results)
    written = [report.write_results(results, out), *report.write_plots(results, out)]
    console = Console(width=None if sys.stdout.isatty() else 120)  # logs and pipes: do not wrap at 80
    console.print(report.summary_table(results))
    console.print(f"demo finished in {results['seconds']['total']:.0f} s")
    for path in written:
        console.print(f"wrote {path}")
    # v1 and v2 must decrypt the exact sum in every round they aggregated; anything else fails the run.
    summary = results["summary"]
    inexact = [m for m in ("v1", "v2") if m in summary
               and summary[m]["exact_rounds"] != summary[m]["rounds"] - summary[m]["skipped_rounds"]]
    return 1 if inexact else 0
