"""What a demo run leaves behind: results.json, a summary table and PNG plots (our Fig. 2 to 4).

- accuracy.png: test accuracy per round, one line per mode (the paper's Fig. 2).
- time.png: seconds per round, stacked by phase, one panel per mode (Fig. 3).
- bytes.png: bytes per round (up + down), stacked by phase, one panel per mode (Fig. 4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

_COLORS = {"plaintext": "tab:blue", "v1": "tab:green", "paper": "tab:red"}
# One color per phase in every panel, so the modes compare at a glance.
_PHASE_COLORS = {"broadcast": "tab:gray", "train": "tab:olive", "upload": "tab:blue", "encrypt": "tab:blue",
                 "challenge": "tab:purple", "respond": "tab:orange", "aggregate": "tab:green",
                 "decrypt": "tab:green", "secure round": "tab:red"}


def summarize(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per mode: final and best accuracy, mean seconds and bytes per round, round notes counted."""
    summary = {}
    for mode, history in results["modes"].items():
        rounds = history["rounds"]
        accuracy = [r["accuracy"] for r in rounds]
        seconds = [sum(r["seconds"].values()) for r in rounds]
        crypto = [sum(v for k, v in r["seconds"].items() if k != "train") for r in rounds]
        up = [sum(r["bytes_up"].values()) for r in rounds]
        down = [sum(r["bytes_down"].values()) for r in rounds]
        summary[mode] = {
            "final_accuracy": accuracy[-1] if accuracy else None,
            "best_accuracy": max(accuracy) if accuracy else None,
            "mean_seconds_per_round": float(np.mean(seconds)) if seconds else 0.0,
            "mean_aggregation_seconds_per_round": float(np.mean(crypto)) if crypto else 0.0,
            "mean_bytes_up_per_round": float(np.mean(up)) if up else 0.0,
            "mean_bytes_down_per_round": float(np.mean(down)) if down else 0.0,
            "skipped_rounds": sum(1 for r in rounds if r["notes"].get("skipped")),
            "exact_rounds": sum(1 for r in rounds if r["notes"].get("exact")),
            "correct_decryptions": sum(1 for r in rounds if r["notes"].get("decrypted_sum_correct")),
            "clipped_coordinates": sum(r["notes"].get("clipped_coordinates", 0) for r in rounds),
        }
    return summary


def write_results(results: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True))
    return path


def _phases(rounds: list[dict[str, Any]], key: str) -> list[str]:
    names: list[str] = []
    for r in rounds:
        for name in r[key]:
            if name not in names:
                names.append(name)
    return names


def _stacked(ax: Any, rounds: list[dict[str, Any]], keys: tuple[str, ...], title: str, ylabel: str) -> None:
    x = np.array([r["round"] for r in rounds])
    bottom = np.zeros(len(rounds))
    names = [n for key in keys for n in _phases(rounds, key)]
    for name in dict.fromkeys(names):
        heights = np.array([sum(r[key].get(name, 0) for key in keys) for r in rounds], dtype=float)
        ax.bar(x, heights, bottom=bottom, label=name, color=_PHASE_COLORS.get(name))
        bottom += heights
    ax.set_title(title)
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    modes = results["modes"]
    paths = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode, history in modes.items():
        rounds = [0] + [r["round"] for r in history["rounds"]]
        accuracy = [results["initial"]["accuracy"]] + [r["accuracy"] for r in history["rounds"]]
        ax.plot(rounds, [100 * a for a in accuracy], marker="o", label=mode, color=_COLORS.get(mode))
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"FedAvg on {results['dataset']['name']}, {results['config']['clients']} clients")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    paths.append(out / "accuracy.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    for filename, keys, ylabel in (("time.png", ("seconds",), "seconds"),
                                   ("bytes.png", ("bytes_up", "bytes_down"), "bytes (up + down)")):
        fig, axes = plt.subplots(1, len(modes), figsize=(5 * len(modes), 4), squeeze=False, sharey=True)
        for ax, (mode, history) in zip(axes[0], modes.items()):
            _stacked(ax, history["rounds"], keys, mode, ylabel)
        fig.tight_layout()
        paths.append(out / filename)
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def summary_table(results: dict[str, Any]) -> Any:
    """A rich Table of summarize(results)."""
    from rich.table import Table

    table = Table(title=f"{results['dataset']['name']}: {results['model']['parameters']} parameters, "
                        f"{results['config']['clients']} clients, {results['config']['rounds']} rounds")
    for column in ("mode", "final", "best", "s/rnd", "agg. s/rnd", "kB up/rnd", "kB down/rnd", "notes"):
        table.add_column(column, justify="left" if column in ("mode", "notes") else "right")
    rounds = results["config"]["rounds"]
    for mode, s in summarize(results).items():
        notes = []
        if mode == "v1":
            notes.append(f"exact sum {s['exact_rounds']}/{rounds}")
        if mode == "paper":
            notes.append(f"E1: correct sum {s['correct_decryptions']}/{rounds}")
            if s["clipped_coordinates"]:
                notes.append(f"{s['clipped_coordinates']} clipped")
        if s["skipped_rounds"]:
            notes.append(f"{s['skipped_rounds']} skipped")
        table.add_row(mode, _percent(s["final_accuracy"]), _percent(s["best_accuracy"]),
                      f"{s['mean_seconds_per_round']:.2f}", f"{s['mean_aggregation_seconds_per_round']:.2f}",
                      f"{s['mean_bytes_up_per_round'] / 1000:,.0f}", f"{s['mean_bytes_down_per_round'] / 1000:,.0f}",
                      "; ".join(notes))
    return table


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"
