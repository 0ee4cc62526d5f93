# SPDX-License-Identifier: GPL-2.0
"""Intervals and goal verdicts shared by the benchmark reports.

A goal is judged on a quantity computed per round from that round's own
measurements (a same-round ratio or difference), then summarised by the
median over the rounds and a 95 % interval for that median. The verdict
is "met" when the whole interval meets the bound, "missed" when the whole
interval misses it, and "tie" otherwise, also when too few rounds give no
interval (fewer than 6 at 95 %)."""
import math
import statistics


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


def verdict(ci, bound):
    """met / missed / tie for a quantity that must be at most bound, from
    the interval of its median over rounds (None: no interval, a tie)."""
    if ci is None:
        return "tie"
    lo, hi = ci[0], ci[1]
    if hi <= bound:
        return "met"
    return "missed" if lo > bound else "tie"


def per_round(num, den, f):
    """f(median of num's round, median of den's round) for every round both
    have: num and den map a round to its samples."""
    return [f(statistics.median(num[r]), statistics.median(den[r])) for r in sorted(set(num) & set(den))]


def judge(values, bound):
    """The median over rounds of a per-round quantity, its interval, the
    verdict against bound; None without values."""
    if not values:
        return None
    ci = median_ci(values)
    return dict(med=statistics.median(values), ci=ci, n=len(values), lo=min(values), hi=max(values),
                verdict=verdict(ci, bound), bound=bound)


def fmt_judged(j, fmt=lambda v: f"{v:.3f}"):
    """"median [lo, hi]", or the median with the range when there is no
    interval."""
    if j["ci"]:
        return f"{fmt(j['med'])} [{fmt(j['ci'][0])}, {fmt(j['ci'][1])}]"
    return f"{fmt(j['med'])} (no interval: {j['n']} round{'s' if j['n'] != 1 else ''}, {fmt(j['lo'])} … {fmt(j['hi'])})"
