# SPDX-License-Identifier: GPL-2.0
"""Figures 8-10 (per-packet hook cost) for bench/report.py.

Reads DIR/fig08-hookcost-raw.csv and DIR/fig08-cpu-raw.csv written by
bench/guest/08-hookcost.sh, writes DIR/fig08-hookcost-summary.csv,
DIR/fig08-cpu-summary.csv, DIR/fig08-09-hookcost.svg, DIR/fig10-xlat.svg and
returns a Markdown section. Standard library and gnuplot only.
"""
import csv
import os
import statistics
import subprocess

from intervals import median_ci, verdict
from plotstyle import EXT, GOAL_STYLE, cluster_half_width, histogram, terminal

# The paper's overheads in microseconds (section 6.1, text of figures 8-10):
# minimum per non-redirected packet, at 45 parallel redirected sessions, and
# translation of a redirected packet.
PAPER = {
    ("pre_routing", "pass", "0"): 2.33,
    ("pre_routing", "pass", "45"): 6.23,
    ("local_out", "pass", "0"): 1.42,
    ("pre_routing", "xlat", "0"): 3.70,
    ("local_out", "xlat", "0"): 4.65,
}
HOOK = {"pre_routing": "input (PRE_ROUTING)", "local_out": "output (LOCAL_OUT)"}
SHORT_HOOK = {"pre_routing": "in", "local_out": "out"}
SHORT_CLASS = {
    "pass": "no binding", "lookup": "to bound R", "pass-spread": "no binding, 5k R",
    "lookup-spread": "to bound R, 5k R", "xlat": "translated", "redirector-other": "R: other",
    "redirector-new": "R: new flow", "redirector-legacy": "R: legacy",
}
CLASS = {
    "pass": "no binding, address filter answers",
    "lookup": "no binding, table searched",
    "pass-spread": "no binding, bindings over 5,000 redirectors",
    "lookup-spread": "no binding, to a bound redirector, bindings over 5,000 redirectors",
    "xlat": "redirected, translated",
    "redirector-other": "at R: to no service address",
    "redirector-new": "at R: a new flow (entry, REQ, forwarded)",
    "redirector-legacy": "at R: legacy flow, served by R",
}


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _q(v, p):
    v = sorted(v)
    k = (len(v) - 1) * p
    i = int(k)
    return v[i] if i + 1 >= len(v) else v[i] + (v[i + 1] - v[i]) * (k - i)


def summarise(d):
    raw = os.path.join(d, "fig08-hookcost-raw.csv")
    if not os.path.exists(raw):
        return None, None
    groups = {}
    for r in _read(raw):
        key = (r["figure"], r["hook"], r["class"], r["entries"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (fig, hook, cls, entries), rs in sorted(
        groups.items(),
        key=lambda kv: (int(kv[0][0]), kv[0][1], list(CLASS).index(kv[0][2]), int(kv[0][3])),
    ):
        # Both positions weigh the same: as if the hooks were in random order.
        ours = [(float(r["first_ns"]) + float(r["second_ns"])) / 2 for r in rs]
        after = [(float(r["empty_first_ns"]) + float(r["empty_second_ns"])) / 2 for r in rs]
        ratio = [float(r["ratio"]) for r in rs]
        first = [float(r["ratio_first"]) for r in rs]
        second = [float(r["ratio_second"]) for r in rs]
        over = [o - a for o, a in zip(ours, after)]
        rows.append({
            "figure": fig, "hook": hook, "class": cls, "entries": entries,
            "rounds": len(rs), "pkts": sum(int(r["pkts"]) for r in rs),
            "ours_ns": statistics.median(ours), "empty_ns": statistics.median(after),
            "overhead_ns": statistics.median(over),
            "ratio": statistics.median(ratio), "ratio_p25": _q(ratio, 0.25),
            "ratio_p75": _q(ratio, 0.75), "ratio_first": statistics.median(first),
            "ratio_second": statistics.median(second),
        })
    if rows:  # none when only the CPU part ran (BENCH_HOOKCOST_PARTS=cpu)
        out = os.path.join(d, "fig08-hookcost-summary.csv")
        with open(out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()})
    cpu = None
    craw = os.path.join(d, "fig08-cpu-raw.csv")
    if os.path.exists(craw):
        by = {}
        for r in _read(craw):
            by.setdefault(r["state"], []).append(float(r["busy_us_per_pkt"]))
        if "loaded" in by and "unloaded" in by:
            cpu = {s: statistics.median(v) for s, v in by.items()}
            cpu["ratio"] = cpu["loaded"] / cpu["unloaded"]
            cpu["n"] = min(len(by["loaded"]), len(by["unloaded"]))
            with open(os.path.join(d, "fig08-cpu-summary.csv"), "w") as f:
                f.write("state,busy_us_per_pkt_median\n")
                f.write(f"unloaded,{cpu['unloaded']:.3f}\nloaded,{cpu['loaded']:.3f}\n")
    return rows, cpu


def ticks(d):
    """The slow timer's cost per tick by table size (median over rounds)."""
    raw = os.path.join(d, "fig08-tick-raw.csv")
    if not os.path.exists(raw):
        return []
    by = {}
    for r in _read(raw):
        by.setdefault(int(r["entries"]), []).append(float(r["us_per_tick"]))
    rows = [(n, statistics.median(v), len(v)) for n, v in sorted(by.items())]
    with open(os.path.join(d, "fig08-tick-summary.csv"), "w") as f:
        f.write("entries,rounds,us_per_tick_median,ns_per_entry\n")
        for n, us, k in rows:
            f.write(f"{n},{k},{us:.1f},{us * 1000 / n:.1f}\n")
    return rows


def _gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def plot(d, rows):
    """Figures 8/9: iprp's hook over the empty hook per cell (ratio, the
    quantity the goals bound), each goal as a line over its cell, the
    paper's overheads written above the cells it measured; figure 10: ns
    per translated packet beside the paper's overhead."""
    pass_rows = [r for r in rows if r["figure"] in ("8", "9")]
    if not pass_rows:
        return
    bounds = {cell: bound for cell, bound, _ in GOALS}
    data = os.path.join(d, "fig08-09.dat")
    goal = os.path.join(d, "fig08-09-goal.dat")
    half = cluster_half_width(1, 1)
    with open(data, "w") as f, open(goal, "w") as g:
        for i, r in enumerate(pass_rows):
            entries = int(r["entries"])
            label = f"{SHORT_HOOK[r['hook']]}, {SHORT_CLASS[r['class']]}, {entries:,}"
            cell = (r["hook"], r["class"], r["entries"])
            paper = PAPER.get(cell)
            note = f"paper +{paper:.2f} µs" if paper else ""
            f.write(f"\"{label}\" {r['ratio']:.3f} {r['ratio_p25']:.3f} {r['ratio_p75']:.3f} \"{note}\"\n")
            if cell in bounds:
                g.write(f"{i - half:.3f} {bounds[cell]} {2 * half:.3f}\n")
    _gnuplot(f"""
{terminal(1200, 600)}set output '{d}/fig08-09-hookcost.{EXT}'
set title 'Figures 8/9: iprp hook / empty hook per packet (median over rounds, p25–p75)'
set ylabel 'ratio to the empty hook (TCG)'
set xlabel 'hook, packet, bindings in the table'
set bmargin 11
set rmargin 10
{histogram("errorbars", 1, 0.8)}set xtics rotate by -35 font ',9'
set logscale y
set yrange [0.8:*]
set grid ytics
set key top left
plot '{data}' using 2:3:4:xtic(1) title 'iprp / empty hook', \\
     '{goal}' using 1:2:3:(0) with vectors nohead {GOAL_STYLE} title 'goal (≤ 1.1×, ≤ 1.2× at R, ≤ 3× bound lookup)', \\
     '{data}' using 0:($4 * 1.15):5 with labels left rotate by 90 font ',9' tc rgb 'gray30' notitle
""")
    xl = [r for r in rows if r["figure"] == "10"]
    if not xl:
        return
    data10 = os.path.join(d, "fig10.dat")
    with open(data10, "w") as f:
        for r in xl:
            paper = PAPER.get((r["hook"], "xlat", "0"), 0) * 1000
            f.write(f"\"{HOOK[r['hook']]}\" {r['empty_ns']:.1f} {r['ours_ns']:.1f} {paper:.0f}\n")
    _gnuplot(f"""
{terminal(700, 400)}set output '{d}/fig10-xlat.{EXT}'
set title 'Figure 10: per-packet cost of a redirected (translated) packet'
set ylabel 'ns per packet'
{histogram("clustered", 1, 0.8)}set key top left
plot '{data10}' using 2:xtic(1) title 'empty hook (TCG)', '' using 3 title 'iprp hook (TCG)', \\
     '' using 4 title 'paper: overhead (1998 PC)'
""")


# The datapath goals (ratios to the empty hook in the same run): (hook,
# class, bindings) of the tested cell, bound, text. A growth goal compares
# a cell with the same cell at 0 bindings, round by round.
GOALS = [
    (("pre_routing", "pass", "0"), 1.1, "client input, packet of no binding, empty table ≤ 1.1×"),
    (("pre_routing", "pass", "1000000"), 1.1, "client input, packet of no binding, 10⁶ bindings ≤ 1.1×"),
    (("pre_routing", "pass-spread", "1000000"), 1.1,
     "client input, packet of no binding, 10⁶ bindings over 5,000 redirectors ≤ 1.1×"),
    (("local_out", "pass", "0"), 1.1, "client output, packet of no binding, empty table ≤ 1.1×"),
    (("local_out", "pass", "1000000"), 1.1, "client output, packet of no binding, 10⁶ bindings ≤ 1.1×"),
    (("local_out", "pass-spread", "1000000"), 1.1,
     "client output, packet of no binding, 10⁶ bindings over 5,000 redirectors ≤ 1.1×"),
    (("local_out", "lookup", "1000000"), 3.0, "client output to a bound redirector address, 10⁶ bindings ≤ 3×"),
    (("local_out", "lookup-spread", "1000000"), 3.0,
     "client output to a bound redirector address, 10⁶ bindings over 5,000 redirectors ≤ 3×"),
    (("pre_routing", "redirector-other", "0"), 1.2, "redirector, packet to no service address ≤ 1.2×"),
]
GROWTH = [
    (("pre_routing", "pass", "1000000"), 1.1, "client input, no binding: growth 0 → 10⁶ bindings ≤ 10 %"),
    (("local_out", "pass", "1000000"), 1.1, "client output, no binding: growth 0 → 10⁶ bindings ≤ 10 %"),
]


def goals(d):
    """Rows (text, median, interval, rounds, bound, verdict) of the goals
    the run has cells for; per round the ratio of the round's cell."""
    raw = os.path.join(d, "fig08-hookcost-raw.csv")
    if not os.path.exists(raw):
        return []
    by = {}
    for r in _read(raw):
        if r["figure"] in ("8", "9"):
            by[(r["hook"], r["class"], r["entries"], r["round"])] = float(r["ratio"])
    rounds = sorted({k[3] for k in by}, key=int)
    rows = []
    for cell, bound, text in GOALS + GROWTH:
        base = (cell[0], "pass", "0") if (cell, bound, text) in GROWTH else None
        v = []
        for rnd in rounds:
            x = by.get(cell + (rnd,))
            if x is None:
                continue
            if base:
                b = by.get(base + (rnd,))
                if b is None:
                    continue
                x = x / b
            v.append(x)
        if not v:
            continue
        ci = median_ci(v)
        rows.append((text, statistics.median(v), ci, len(v), min(v), max(v), bound,
                     verdict(ci, bound)))
    return rows


def reroute(d):
    """Route lookup of translated output packets (figure 10): medians over
    rounds of its ns, the whole hook's and the empty hook's, and its share
    of iprp's overhead (hook - empty), or None."""
    raw = os.path.join(d, "fig10-reroute-raw.csv")
    if not os.path.exists(raw):
        return None
    rs = _read(raw)
    if not rs:
        return None
    share = [float(r["reroute_ns"]) / (float(r["xlat_ns"]) - float(r["empty_ns"])) for r in rs]
    out = {k: statistics.median(float(r[k]) for r in rs) for k in ("reroute_ns", "xlat_ns", "empty_ns")}
    out.update(share=statistics.median(share), share_min=min(share), share_max=max(share),
               ci=median_ci(share), rounds=len(rs))
    with open(os.path.join(d, "fig10-reroute-summary.csv"), "w") as f:
        f.write("rounds,reroute_ns,xlat_ns,empty_ns,share_of_overhead,share_ci_lo,share_ci_hi\n")
        ci = out["ci"]
        f.write(f"{out['rounds']},{out['reroute_ns']:.1f},{out['xlat_ns']:.1f},{out['empty_ns']:.1f},"
                f"{out['share']:.3f},{ci[0] if ci else ''},{ci[1] if ci else ''}\n")
    return out


def packet(r):
    if r["class"] == "pass" and r["entries"] == "0":
        return "no binding (empty table)"
    return CLASS[r["class"]]


def markdown(d):
    rows, cpu = summarise(d)
    if rows is None:
        return ""
    cpu_text = [
        "",
        f"Busy CPU per 18-byte UDP datagram C → S1 (whole VM, /proc/stat, median of "
        f"{cpu['n']} interleaved rounds): module not loaded {cpu['unloaded']:.2f} µs, "
        f"loaded with the client role and no bindings {cpu['loaded']:.2f} µs: "
        f"**{cpu['ratio']:.2f}×**.",
    ] if cpu else []
    if not rows:
        return "\n".join(["### Busy CPU per datagram, module loaded vs not"] + cpu_text) + "\n"
    plot(d, rows)
    out = [
        "### Figures 8–10: per-packet cost of the hooks",
        "",
        "In the kernel, iprp loaded with `bench=1`: TSC cycles around each hook "
        "body, between two empty hooks called the same way; packets alternate "
        "between iprp's hook and the empty one going first (the first hook of a "
        "packet pays for warming memory, which under TCG costs more than a short "
        "hook body), and each is compared with the other in the same position. "
        "Columns: mean of the two positions, ratio = iprp / empty (median over "
        "rounds, p25–p75 in brackets; then the ratio when both are first / both "
        "second). Overhead = iprp − empty. The paper's numbers are overheads on "
        "its 1998 hardware; ours are under TCG emulation, so compare ratios, "
        "not nanoseconds.",
        "",
        f"![figures 8/9](fig08-09-hookcost.{EXT}) ![figure 10](fig10-xlat.{EXT})",
        "",
        "| fig | hook | packet | bindings | iprp ns | empty ns | overhead ns | ratio | first / second | paper overhead |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper = PAPER.get((r["hook"], r["class"], r["entries"]))
        out.append(
            f"| {r['figure']} | {HOOK[r['hook']]} | {packet(r)} | {int(r['entries']):,} "
            f"| {r['ours_ns']:.0f} | {r['empty_ns']:.0f} | {r['overhead_ns']:.0f} "
            f"| {r['ratio']:.2f} [{r['ratio_p25']:.2f}–{r['ratio_p75']:.2f}] "
            f"| {r['ratio_first']:.2f} / {r['ratio_second']:.2f} "
            f"| {f'{paper:.2f} µs' if paper else '—'} |"
        )
    rr = reroute(d)
    if rr:
        iv = (f"[{rr['ci'][0]:.0%}, {rr['ci'][1]:.0%}]" if rr["ci"]
              else f"(no interval: {rr['share_min']:.0%} … {rr['share_max']:.0%})")
        out += [
            "",
            f"Of a translated output packet (figure 10), the route lookup of its verdict "
            f"(`ip_route_me_harder`, timed apart in bench mode): {rr['reroute_ns']:.0f} ns of "
            f"the hook's {rr['xlat_ns']:.0f} ns (empty hook {rr['empty_ns']:.0f} ns), "
            f"**{rr['share']:.0%} {iv}** of iprp's overhead (median over {rr['rounds']} rounds). "
            f"A route cached per binding would save at most this, less the cost of checking it.",
        ]
    goal_rows = goals(d)
    if goal_rows:
        out += [
            "",
            "Goals, as ratios to the empty hook measured on the same packets: per round the "
            "cell's ratio (for growth, the ratio at 10⁶ bindings over the ratio at 0 in the "
            "same round), then the median over rounds and a 95 % interval for it "
            "(distribution-free, order statistics; none below 6 rounds). **met**: the whole "
            "interval is within the bound; **missed**: the whole interval is beyond it; "
            "**tie**: otherwise.",
            "",
            "| goal | median [95 % interval] | rounds | verdict |",
            "|---|---|---|---|",
        ]
        for text, med, ci, n, lo, hi, bound, verdict in goal_rows:
            iv = f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"(no interval: {lo:.2f} … {hi:.2f})"
            out.append(f"| {text} | {med:.2f} {iv} | {n} | **{verdict}** |")
        with open(os.path.join(d, "fig08-goals-summary.csv"), "w") as f:
            f.write("goal,median,ci_lo,ci_hi,rounds,bound,verdict\n")
            for text, med, ci, n, lo, hi, bound, verdict in goal_rows:
                lo_s, hi_s = (f"{ci[0]:.3f}", f"{ci[1]:.3f}") if ci else ("", "")
                f.write(f"\"{text}\",{med:.3f},{lo_s},{hi_s},{n},{bound},{verdict}\n")
    tick_rows = ticks(d)
    if tick_rows:
        out += [
            "",
            "The slow timer at C, timed in the kernel (bench mode), by bindings in "
            "the table (median µs per tick over rounds; TCG, so compare sizes):",
            "",
            "| bindings | µs per tick | ns per binding |",
            "|---|---|---|",
        ] + [f"| {n:,} | {us:.0f} | {us * 1000 / n:.1f} |" for n, us, _ in tick_rows]
    out += cpu_text
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys

    print(markdown(sys.argv[1]))
