#!/usr/bin/env python3
"""Plots the CSV of `swf-bench --soak` (scripts/soak.sh) as a PNG: each node's RSS and data-directory
size, the p50 and p99 of the calls, and workflows per second, against minutes of the run.

    python3 scripts/soak_plot.py soak-out/soak.csv soak-out/soak.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{src}: no rows")
    minutes = [int(r["elapsed_s"]) / 60 for r in rows]
    nodes = [c[: -len("_rss_mb")] for c in rows[0] if c.endswith("_rss_mb")]

    def col(name):
        return [float(r[name]) if r[name] else float("nan") for r in rows]

    fig, axes = plt.subplots(4, 1, figsize=(9, 11), sharex=True)
    for n in nodes:
        axes[0].plot(minutes, col(f"{n}_rss_mb"), marker=".", label=n)
        axes[1].plot(minutes, col(f"{n}_data_mb"), marker=".", label=n)
    axes[0].set_ylabel("RSS (MB)")
    axes[1].set_ylabel("data directory (MB)")
    axes[2].plot(minutes, col("p99_ms"), marker=".", label="p99")
    axes[2].plot(minutes, col("p50_ms"), marker=".", label="p50")
    axes[2].set_ylabel("call latency (ms)")
    axes[3].plot(minutes, col("workflows_per_s"), marker=".", label="workflows/s")
    errors = col("errors")
    if any(e > 0 for e in errors):
        axes[3].plot(minutes, errors, marker="x", color="red", label="errors")
    axes[3].set_ylabel("per second / count")
    axes[3].set_xlabel("minutes")
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    fig.suptitle(f"swfd soak ({src})")
    fig.tight_layout()
    fig.savefig(dst, dpi=90)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
