# SPDX-License-Identifier: GPL-2.0
"""gnuplot preambles shared by the benchmark figures (report.py,
hookcost_report.py)."""


def histogram(kind, gap, fill):
    """Bar chart: `kind` is 'clustered' or 'errorbars' (3 columns per bar:
    value, low, high)."""
    lw = " lw 1" if kind == "errorbars" else ""
    return (f"set style data histogram\n"
            f"set style histogram {kind} gap {gap}{lw}\n"
            f"set style fill solid {fill} border -1\n")
