# SPDX-License-Identifier: GPL-2.0
"""gnuplot preambles shared by the benchmark figures (report.py,
hookcost_report.py)."""
import os

# BENCH_PLOT_PNG=1: PNG instead of SVG (to look at the plots with an image
# viewer).
EXT = "png" if os.environ.get("BENCH_PLOT_PNG") else "svg"
# The goal, drawn as a line on every figure that has one.
GOAL_STYLE = "lw 3 lc rgb '#d62728'"


def terminal(w, h):
    """The terminal line for a w x h plot."""
    if EXT == "png":
        return f"set terminal pngcairo size {w},{h} enhanced font 'sans,11'\n"
    return f"set terminal svg size {w},{h} dynamic enhanced font 'sans,13' background '#ffffff'\n"


def histogram(kind, gap, fill):
    """Bar chart: `kind` is 'clustered' or 'errorbars' (3 columns per bar:
    value, low, high)."""
    lw = " lw 1" if kind == "errorbars" else ""
    return (f"set style data histogram\n"
            f"set style histogram {kind} gap {gap}{lw}\n"
            f"set style fill solid {fill} border -1\n")


def cluster_half_width(bars, gap):
    """Half the width of one cluster of a clustered histogram (clusters
    centred on 0, 1, 2, ...): where a goal segment over it ends."""
    return bars / (bars + gap) / 2
