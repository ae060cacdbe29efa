#!/usr/bin/env python3
"""Turns compare.sh's per-run JSON lines into one JSON results file and a markdown table (stdout).

usage: report.py RESULTS.jsonl OUT.json [--meta key=value ...]
"""
import json
import sys


def fmt_num(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"


def cell(run, key):
    """One table cell for a run (dict from the JSON lines) or '-' when missing."""
    if run is None or not run.get("report"):
        return "-" if run is None else "failed"
    t = run["report"]["total"]
    lat = t["latency_ms"]
    if key == "ops":
        s = fmt_num(t["ops_per_sec"])
        return s + (f" ({t['errors']} err)" if t["errors"] else "")
    if key == "mib":
        return fmt_num(t["mib_per_sec"], 1)
    if key == "lat":
        return f"{lat['p50']:.2f} / {lat['p99']:.2f}"
    if key == "rss":
        return f"{run['peak_rss_kib'] / 1024:.0f}"
    raise KeyError(key)


def ratio(gh, sw):
    try:
        a = gh["report"]["total"]["ops_per_sec"]
        b = sw["report"]["total"]["ops_per_sec"]
    except (TypeError, KeyError):
        return "-"
    return f"{a / b:.2f}x" if b else "-"


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = argv[1], argv[2]
    meta = {}
    rest = argv[3:]
    while rest:
        if rest[0] == "--meta" and len(rest) > 1:
            k, _, v = rest[1].partition("=")
            meta[k] = v
            rest = rest[2:]
        else:
            print(f"report.py: unexpected argument {rest[0]}", file=sys.stderr)
            return 2
    with open(src) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    with open(out, "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=2)
        f.write("\n")

    workloads = list(dict.fromkeys(r["workload"] for r in runs))
    backends = list(dict.fromkeys(r["backend"] for r in runs if r["server"] == "gatehouse")) or [None]
    by = {(r["server"], r["backend"], r["workload"]): r for r in runs}

    print("| workload | Gatehouse storage | GH ops/s | GH MiB/s | GH p50 / p99 ms | GH peak RSS MiB "
          "| SeaweedFS ops/s | SW MiB/s | SW p50 / p99 ms | SW peak RSS MiB | GH/SW ops |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for w in workloads:
        sw = by.get(("seaweedfs", None, w))
        for b in backends:
            gh = by.get(("gatehouse", b, w)) if b else None
            print(f"| {w} | {b or '-'} | {cell(gh, 'ops')} | {cell(gh, 'mib')} | {cell(gh, 'lat')} | "
                  f"{cell(gh, 'rss')} | {cell(sw, 'ops')} | {cell(sw, 'mib')} | {cell(sw, 'lat')} | "
                  f"{cell(sw, 'rss')} | {ratio(gh, sw)} |")
    # Whole-run peak (VmHWM) per server process.
    hwm = {}
    for r in runs:
        name = r["server"] + (f" ({r['backend']})" if r["backend"] else "")
        hwm[name] = max(hwm.get(name, 0), r.get("vm_hwm_kib") or 0)
    print()
    print("Peak RSS over the whole run (VmHWM): " + ", ".join(f"{k} {v / 1024:.0f} MiB" for k, v in hwm.items()))
    errs = [(r["workload"], r["server"], r["backend"], s) for r in runs if r.get("report")
            for s in r["report"]["total"]["error_samples"]]
    for w, s, b, e in errs[:10]:
        print(f"- error {w} {s}{'/' + b if b else ''}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
