# SPDX-License-Identifier: GPL-2.0
"""Intervals and goal verdicts shared by the benchmark reports."""
import math


def median_ci(v, conf=0.95):
    """Distribution-free interval for the median of v: the order statistics
    v(k), v(n+1-k) with the largest k whose coverage 1 - 2 P(Bin(n, 1/2) < k)
    is at least conf. (lo, hi, coverage), or None when n is too small (< 6
    for 95 %)."""
    v = sorted(v)
    n = len(v)
    best = None
    for k in range(1, n // 2 + 1):
        cover = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
        if cover >= conf:
            best = (v[k - 1], v[n - k], cover)
    return best


def goal_verdict(test, bound, ci):
    """met / not met / undecided from the interval of the tested quantity."""
    if ci is None:
        return "undecided"
    lo, hi = ci[0], ci[1]
    if hi <= bound:
        return "met"
    return "not met" if lo > bound else "undecided"
