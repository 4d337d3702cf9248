"""What a demo run leaves behind: results.json, a summary table and PNG plots (our Fig. 2 to 4).

- accuracy.png: test accuracy per round, one line per mode (the paper's Fig. 2);
- time.png: seconds per round, one line per mode (Fig. 3);
- bytes.png: bytes per client and round, sent and received, one bar pair per mode (Fig. 4).

Every plot names the data set, the clients and the parameter sets in its title, ticks rounds at
integers, and keeps its legend outside the axes. Modes differ in colour, marker and line style,
and plaintext is drawn first, wide and pale, so it stays visible where another mode coincides
with it (v1 and v2 train like plaintext FedAvg).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mpksa.errors import ParameterError
from mpksa.params import parameter_set

STYLE = {  # colour, marker, line style, line width, alpha
    "plaintext": ("tab:blue", "o", "-", 5.0, 0.35),
    "v1": ("tab:green", "^", "--", 1.6, 1.0),
    "v2": ("tab:orange", "s", ":", 1.8, 1.0),
    "secagg+": ("tab:purple", "D", "-.", 1.4, 1.0),
    "paper": ("tab:red", "x", "-", 1.2, 1.0),
}


def mode_order(results: dict[str, Any]) -> list[str]:
    """The modes in the order the run was asked for (results.json sorts its keys)."""
    return [m for m in results["config"]["modes"] if m in results["modes"]]


def summarize(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per mode: final and best accuracy, mean seconds per round, mean bytes per client and round."""
    summary = {}
    for mode in mode_order(results):
        history = results["modes"][mode]
        rounds = history["rounds"]
        accuracy = [r["accuracy"] for r in rounds]
        summary[mode] = {
            "final_accuracy": accuracy[-1] if accuracy else None,
            "best_accuracy": max(accuracy) if accuracy else None,
            "mean_seconds_per_round": float(np.mean([r["seconds"] for r in rounds])) if rounds else 0.0,
            "mean_bytes_up_per_client": float(np.mean([r["bytes_up"] for r in rounds])) if rounds else 0.0,
            "mean_bytes_down_per_client": float(np.mean([r["bytes_down"] for r in rounds])) if rounds else 0.0,
            "rounds": len(rounds),
            "skipped_rounds": sum(1 for r in rounds if r["notes"].get("skipped")),
            "exact_rounds": sum(1 for r in rounds if r["notes"].get("exact")),
            "correct_decryptions": sum(1 for r in rounds if r["notes"].get("decrypted_sum_correct")),
            "clipped_coordinates": sum(r["notes"].get("clipped_coordinates", 0) for r in rounds),
            "runtime": history.get("runtime", ""),
        }
    return summary


def prepare_out(out: Path) -> Path:
    """The output folder: created if missing, its parent never (a typo must not build a tree)."""
    if out.is_dir():
        return out
    if out.exists():
        raise ParameterError(f"--out {out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise ParameterError(f"--out {out}: its parent folder {out.parent} does not exist; create it first")
    out.mkdir()
    return out


def write_results(results: dict[str, Any], out: Path) -> Path:
    path = prepare_out(out) / "results.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True))
    return path


def human_bytes(x: float) -> str:
    """Decimal units: 950 B, 12.3 kB, 4.56 MB, 1.2 GB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(x) >= size:
            value = x / size
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{x:.0f} B"


def title(results: dict[str, Any], what: str) -> str:
    sets = ", ".join(f"{mode}: {name}" for mode, name in results.get("parameter_sets", {}).items())
    head = f"{what}: {results['dataset']['name']}, {results['config']['clients']} clients"
    return f"{head}\n{sets}" if sets else head


def _label(results: dict[str, Any], mode: str, sep: str = " ") -> str:
    return f"{mode}{sep}({results['modes'][mode].get('runtime', '')})" if mode == "paper" else mode


def log_axis(ax: Any, values: list[float], show: Any) -> None:
    """A log-scale y axis labelled by `show`: ticks at 1, 2, 5 per decade over at most two decades,
    at each decade beyond."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    positive = [v for v in values if v > 0] or [1.0]
    decades = np.log10(max(positive)) - np.log10(min(positive))
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 2 else (1.0,)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: show(v)))
    ax.yaxis.set_minor_formatter(NullFormatter())


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    prepare_out(out)
    modes = results["modes"]
    order = sorted(mode_order(results), key=lambda m: m != "plaintext")  # plaintext first, under the others
    paths = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        paths.append(out / name)
        fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
        plt.close(fig)

    def line(ax: Any, mode: str, x: list[int], y: list[float]) -> None:
        color, marker, style, width, alpha = STYLE.get(mode, ("black", ".", "-", 1.0, 1.0))
        big = mode == "plaintext"
        ax.plot(x, y, label=_label(results, mode), color=color, marker=marker, linestyle=style, linewidth=width,
                alpha=alpha, markersize=11 if big else 5, markerfacecolor="none" if big else color, zorder=1 if big else 2)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for mode in order:
        rounds = modes[mode]["rounds"]
        line(ax, mode, [0] + [r["round"] for r in rounds],
             [100 * results["initial"]["accuracy"]] + [100 * r["accuracy"] for r in rounds])
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy (%)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title(results, "FedAvg test accuracy"), fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    save(fig, "accuracy.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for mode in order:
        rounds = modes[mode]["rounds"]
        line(ax, mode, [r["round"] for r in rounds], [r["seconds"] for r in rounds])
    log_axis(ax, [r["seconds"] for m in order for r in modes[m]["rounds"]], lambda v: f"{v:g} s")
    ax.set_xlabel("round")
    ax.set_ylabel("seconds per round (log scale)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title(results, "Time per round"), fontsize="medium")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    save(fig, "time.png")

    summary = summarize(results)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(len(order))
    legend = []
    for offset, key, hatch, name in ((-0.2, "mean_bytes_up_per_client", "", "sent (client to server)"),
                                     (0.2, "mean_bytes_down_per_client", "//", "received (server to client)")):
        heights = [summary[m][key] for m in order]
        bars = ax.bar(x + offset, heights, width=0.4, color=[STYLE.get(m, ("gray",))[0] for m in order],
                      edgecolor="black", hatch=hatch)
        legend.append(Patch(facecolor="white", edgecolor="black", hatch=hatch, label=name))
        for bar, h in zip(bars, heights):  # upright labels never run into the neighbouring bar's
            ax.annotate(human_bytes(h), (bar.get_x() + bar.get_width() / 2, h), ha="center", va="bottom",
                        rotation=90, fontsize="x-small", xytext=(0, 3), textcoords="offset points")
    values = [summary[m][k] for m in order for k in ("mean_bytes_up_per_client", "mean_bytes_down_per_client")]
    log_axis(ax, values, human_bytes)
    ax.set_ylim(min(v for v in values if v > 0) / 2, max(values) * 4)  # room below the lowest bar, above the labels
    ax.set_xticks(x, [_label(results, m, "\n") for m in order], fontsize="small")
    ax.set_ylabel("bytes per client and round (log scale)")
    ax.set_title(title(results, "Bytes per client and round"), fontsize="medium")
    ax.grid(alpha=0.3, axis="y", which="both")
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    save(fig, "bytes.png")
    return paths


def summary_table(results: dict[str, Any]) -> Any:
    """A rich Table of summarize(results)."""
    from rich.table import Table

    table = Table(title=f"{results['dataset']['name']}: {results['model']['parameters']} parameters, "
                        f"{results['config']['clients']} clients, {results['config']['rounds']} rounds")
    for column in ("mode", "set", "final", "best", "s/round", "up/client", "down/client", "notes"):
        table.add_column(column, justify="left" if column in ("mode", "set", "notes") else "right")
    sets = results.get("parameter_sets", {})
    for mode, s in summarize(results).items():
        notes = []
        if mode in ("v1", "v2"):
            notes.append(f"exact sum {s['exact_rounds']}/{s['rounds']}")
        if mode == "paper":
            notes.append(f"E1: correct sum {s['correct_decryptions']}/{s['rounds']}; {s['runtime']}")
            if s["clipped_coordinates"]:
                notes.append(f"{s['clipped_coordinates']} clipped")
        if s["skipped_rounds"]:
            notes.append(f"{s['skipped_rounds']} skipped")
        name = sets.get(mode, "-")
        table.add_row(mode, f"{name} (insecure)" if name != "-" and parameter_set(name).insecure else name, _percent(s["final_accuracy"]), _percent(s["best_accuracy"]),
                      f"{s['mean_seconds_per_round']:.2f}", human_bytes(s["mean_bytes_up_per_client"]),
                      human_bytes(s["mean_bytes_down_per_client"]), "; ".join(notes))
    return table


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"
