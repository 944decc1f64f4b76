"""bench_report.py -- turn the BENCH lines that bench.sh collected into tables.

    python3 experiments/bench_report.py RAW [--stat best|median|both]

Each BENCH line is one (program, thread setting, case) measured in one run:
t_best is the best of that run's samples, in seconds per op. Over the rounds we
take, per figure, the best (fastest run) and the median (the middle run). Rates:
GFLOP/s = flop / t, GB/s = bytes / t (x + y counts 12 bytes an element, exp 8),
small ops in microseconds. Ratios compare figures of the same statistic.
Standard library only.
"""
import statistics
import sys
from collections import defaultdict


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("BENCH "):
                continue
            d = dict(kv.split("=", 1) for kv in line.split()[1:])
            for k in ("work", "t_best", "t_med", "other", "reps"):
                d[k] = float(d.get(k, 0))
            rows.append(d)
    return rows


class Data:
    def __init__(self, rows, stat):
        self.stat = stat
        self.t = defaultdict(list)
        self.other = defaultdict(list)
        self.work = {}
        self.reps = defaultdict(set)
        for r in rows:
            key = (r["impl"], r["cfg"], r["sec"], r["case"], r["var"])
            self.t[key].append(r["t_best"])
            self.other[r["sec"]].append(r["other"])
            self.work[key] = r["work"]
            self.reps[(r["impl"], r["sec"])].add(int(r["reps"]))

    def time(self, impl, cfg, sec, case, var):
        ts = self.t.get((impl, cfg, sec, case, var))
        if not ts:
            return None
        return min(ts) if self.stat == "best" else statistics.median(ts)

    def rate(self, impl, cfg, sec, case, var):
        t = self.time(impl, cfg, sec, case, var)
        if t is None:
            return None
        return self.work[(impl, cfg, sec, case, var)] / t / 1e9

    def cfgs(self, impl, sec):
        return sorted({k[1] for k in self.t if k[0] == impl and k[2] == sec})

    def cases(self, sec):
        seen = []
        for k in self.t:
            if k[2] == sec and (k[3], k[4]) not in seen and k[0] == "lunet":
                seen.append((k[3], k[4]))
        return seen

    def fastest(self, impl, sec, case, var):
        """(cfg, time) of impl's fastest thread setting for this case"""
        best = None
        for cfg in self.cfgs(impl, sec):
            t = self.time(impl, cfg, sec, case, var)
            if t is not None and (best is None or t < best[1]):
                best = (cfg, t)
        return best


def f(x, fmt="{:.1f}"):
    return "-" if x is None else fmt.format(x)


def ratio(a, b, fmt="{:.2f}"):
    return "-" if a is None or b is None or b == 0 else fmt.format(a / b)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def matmul(d):
    rows = []
    for case, var in d.cases("matmul"):
        l1, l2 = d.rate("lunet", "T1", "matmul", case, var), d.rate("lunet", "T2", "matmul", case, var)
        base = var.split("/")[0]  # A@B/close is compared with A@B elsewhere
        c1, c2 = d.rate("cblas", "T1", "matmul", case, base), d.rate("cblas", "T2", "matmul", case, base)
        tb = d.fastest("torch", "matmul", case, base)
        tr = d.work[("torch", tb[0], "matmul", case, base)] / tb[1] / 1e9 if tb else None
        lbest = max(x for x in (l1, l2) if x is not None) if (l1 or l2) else None
        rows.append([case, var, f(l1), f(l2), f(c1), f(c2),
                     f(tr) + (f" ({tb[0]})" if tb else ""), ratio(l1, c1), ratio(l2, c2), ratio(lbest, tr)])
    return ("matmul, GFLOP/s (m x k x n; At.t()@B = A passed as a transposed view; /close = result\n"
            "released at once with <close>, compared with the others' plain A@B)\n\n"
            + table(["m x k x n", "op", "lunet 1T", "lunet 2T", "cblas 1T", "cblas 2T", "torch fastest (cfg)",
                     "lunet/cblas 1T", "lunet/cblas 2T", "lunet/torch"], rows))


def ew(d):
    rows = []
    for case, var in d.cases("ew"):
        base = var.split("/")[0]

        def cell(impl, cfg):
            v = var if impl == "lunet" else base
            t = d.time(impl, cfg, "ew", case, v)
            if t is None:
                return "-", None
            return f"{t * 1e3:.3f} ms, {d.work[(impl, cfg, 'ew', case, v)] / t / 1e9:.1f} GB/s", t
        (s1, l1), (s2, l2) = cell("lunet", "T1"), cell("lunet", "T2")
        (r1s, r1), (r2s, r2) = cell("rawC", "T1"), cell("rawC", "T2")
        tb = d.fastest("torch", "ew", case, base)
        ts = cell("torch", tb[0])[0] + f" ({tb[0]})" if tb else "-"
        lbest = min(x for x in (l1, l2) if x is not None) if (l1 or l2) else None
        rbest = min(x for x in (r1, r2) if x is not None) if (r1 or r2) else None
        rows.append([case, var, s1, s2, r1s, r2s, ts, ratio(rbest, lbest),
                     ratio(tb[1] if tb else None, lbest)])
    return ("elementwise on float32 vectors (time per op, effective GB/s: x + y moves 12 B/element, exp 8 B;\n"
            "/close = lunet's result released at once with <close>, compared with the others' plain op);\n"
            "speed ratios use each program's fastest thread setting, > 1 means lunet is faster\n\n"
            + table(["n", "op", "lunet 1T", "lunet 2T", "raw C 1T", "raw C 2T", "torch fastest (cfg)",
                     "lunet speed / raw C", "lunet speed / torch"], rows))


def small(d):
    rows = []
    for case, var in d.cases("small"):
        us = lambda impl, cfg: (lambda t: None if t is None else t * 1e6)(d.time(impl, cfg, "small", case, var))
        l1, l2 = us("lunet", "T1"), us("lunet", "T2")
        tb = d.fastest("torch", "small", case, var.split("/")[0])
        tu = tb[1] * 1e6 if tb else None
        lbest = min(x for x in (l1, l2) if x is not None) if (l1 or l2) else None
        rows.append([var, f(l1, "{:.3f}"), f(l2, "{:.3f}"), f(tu, "{:.3f}") + (f" ({tb[0]})" if tb else ""),
                     ratio(tu, lbest)])
    n = lambda impl: "/".join(f"{x:,}" for x in sorted(d.reps[(impl, "small")])) or "-"
    return (f"small-op overhead on 2x2 float32, microseconds per op (loops of {n('lunet')} ops for lunet, "
            f"{n('torch')} for PyTorch; 'empty-loop' is the bare loop;\n"
            "/genGC = a fresh lunet that calls collectgarbage('generational') first; the lunet program now starts in that mode, so it matches the plain rows)\n\n"
            + table(["op", "lunet 1T us", "lunet 2T us", "torch fastest us (cfg)", "torch/lunet"], rows))


def train(d):
    rows = []
    for case, var in d.cases("train"):
        ms = lambda impl, cfg: (lambda t: None if t is None else t * 1e3)(d.time(impl, cfg, "train", case, var))
        l1, l2 = ms("lunet", "T1"), ms("lunet", "T2")
        tb = d.fastest("torch", "train", case, var)
        t1 = [d.time("torch", c, "train", case, var) for c in d.cfgs("torch", "train") if c.startswith("T1")]
        t2 = [d.time("torch", c, "train", case, var) for c in d.cfgs("torch", "train") if c.startswith("T2")]
        t1 = min((t for t in t1 if t), default=None)
        t2 = min((t for t in t2 if t), default=None)
        tm = lambda t: None if t is None else t * 1e3
        lbest = min(x for x in (l1, l2) if x is not None) if (l1 or l2) else None
        rows.append([case, f(l1, "{:.2f}"), f(l2, "{:.2f}"), f(tm(t1), "{:.2f}"), f(tm(t2), "{:.2f}"),
                     f(tm(tb[1]) if tb else None, "{:.2f}") + (f" ({tb[0]})" if tb else ""),
                     ratio(tm(t1), l1), ratio(tm(t2), l2), ratio(tm(tb[1]) if tb else None, lbest)])
    return ("one training step (forward + backward + Adam), ms per step; torch 1T / 2T = its fastest\n"
            "setting with set_num_threads(1) / (2); ratios are torch time / lunet time (> 1: lunet faster)\n\n"
            + table(["model", "lunet 1T", "lunet 2T", "torch 1T", "torch 2T", "torch fastest (cfg)",
                     "1T ratio", "2T ratio", "fastest/fastest"], rows))


def data_section(d):
    rows = []
    keys = sorted({(k[0], k[1], k[3], k[4]) for k in d.t if k[2] == "data"})
    for impl, cfg, case, var in keys:
        t = d.time(impl, cfg, "data", case, var)
        rows.append([case, var, f"{impl} {cfg}", f(t * 1e3 if t else None, "{:.1f}")])
    return ("data: loading the 60,000 Fashion-MNIST training images (case load) and one epoch of\n"
            "shuffled batches of 128 with no model (case epoch), ms\n\n"
            + table(["case", "variant", "program", "ms"], rows))


data_section.__name__ = "data"


def startup(rows):
    by = defaultdict(list)
    order = []
    for r in rows:
        if r["sec"] == "startup":
            if r["var"] not in by:
                order.append(r["var"])
            by[r["var"]].append(r["t_best"] * 1e3)
    by = {k.replace("+", " "): v for k, v in by.items()}
    order = [k.replace("+", " ") for k in order]
    if not by:
        return ""
    ref = statistics.mean(by[order[0]])
    out = []
    for v in order:
        xs = by[v]
        out.append([v, str(len(xs)), f"{statistics.mean(xs):.2f}", f"{statistics.median(xs):.2f}",
                    f"{min(xs):.2f}", f"{statistics.mean(xs) / ref:.2f}"])
    return ("start-up, wall time of one process, ms (runs interleaved)\n\n"
            + table(["command", "runs", "mean", "median", "min", "mean / lunet's"], out))


def other_load(d):
    parts = []
    for sec, xs in d.other.items():
        if sec == "startup" or not xs:
            continue
        busy = sum(1 for x in xs if x > 0.1)
        parts.append(f"{sec}: max {max(xs):.2f}, median {statistics.median(xs):.2f} cores, "
                     f"{busy}/{len(xs)} runs above 0.1")
    return "CPU taken by other processes during the runs: " + "; ".join(parts)


def main(argv):
    if not argv:
        sys.exit(__doc__)
    rows = parse(argv[0])
    stat = "both"
    if "--stat" in argv:
        stat = argv[argv.index("--stat") + 1]
    stats = ["best", "median"] if stat == "both" else [stat]
    for s in stats:
        d = Data(rows, s)
        title = ("BEST run over the rounds" if s == "best" else "MEDIAN run over the rounds")
        print(f"\n## {title}\n")
        for fn in (matmul, ew, small, train, data_section):
            sec = fn.__name__
            if any(k[2] == sec for k in d.t):
                print(fn(d) + "\n")
    print(startup(rows) + "\n")
    print(other_load(Data(rows, "best")))


if __name__ == "__main__":
    main(sys.argv[1:])
