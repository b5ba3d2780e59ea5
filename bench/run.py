"""`make bench` / `make bench-quick`: the benchmark suite (issue 9).

    .venv/bin/python bench/run.py [--quick] [--only B3,B6] [--keep-db]

Runs each benchmark against PostgreSQL and Redis on this machine, each in a fresh scratch
database copied from a migrated template (dropped at the end; Redis db 13), prints one
table (id, what, figure, baseline measured in the same run, ratio, target, met) and writes
it with the machine description to bench/results/<timestamp>[-quick].json.

Every benchmark checks its own correctness before it reports a figure. Exit status: 1 when
a correctness check fails (any run) or, in a full run, when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

BENCHMARKS = {
    "B1": "bench.b1_webhooks",
    "B2": "bench.b2_orders",
    "B3": "bench.b3_build",
    "B4": "bench.b4_export",
    "B5": "bench.b5_pages",
    "B6": "bench.b6_ledger",
    "B7": "bench.b7_rescore",
}
RESULTS = Path(__file__).resolve().parent / "results"


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}".strip()


def table(rows: list[dict], quick: bool) -> str:
    headers = ["id", "what", "figure", "baseline", "ratio", "target", "met"]
    lines = []
    for r in rows:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "NO")
        if quick and r["met"] is not None and not r.get("error"):
            met += " (not enforced)"
        if r.get("error"):
            met = "FAILED"
        lines.append(
            [
                r["id"],
                r["what"],
                _fmt(r["figure"], r["unit"]),
                _fmt(r["baseline"], r["baseline_unit"]),
                "—" if r["ratio"] is None else f"{r['ratio']:.2f}",
                r["target"],
                met,
            ]
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]

    def row(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [row(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [row(line) for line in lines]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="reduced sizes, under two minutes; targets not enforced")
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. B3,B6")
    parser.add_argument("--keep-db", action="store_true", help="keep the last scratch database (debugging)")
    args = parser.parse_args(argv)
    wanted = [b.strip().upper() for b in args.only.split(",") if b.strip()] or list(BENCHMARKS)
    unknown = [b for b in wanted if b not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    common.configure()
    machine = common.machine()
    print(
        f"machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB, "
        f"PostgreSQL {machine['postgresql']}, Python {machine['python']}, Django {machine['django']}",
        flush=True,
    )
    mode = "quick" if args.quick else "full"
    started = time.perf_counter()
    rows: list[dict] = []
    failed_correctness = False
    try:
        print(f"[{mode}] creating the scratch template database …", flush=True)
        print(f"  migrated in {common.create_template():.1f} s", flush=True)
        for bid in wanted:
            print(f"[{mode}] {bid} …", flush=True)
            t0 = time.perf_counter()
            common.fresh_db()
            try:
                module = importlib.import_module(BENCHMARKS[bid])
                produced = module.run(args.quick)
            except common.CorrectnessError as exc:
                failed_correctness = True
                produced = [_error_row(bid, f"correctness check failed: {exc}")]
            except Exception as exc:  # a crash is a failed benchmark, not a crashed suite
                failed_correctness = True
                traceback.print_exc()
                produced = [_error_row(bid, f"{type(exc).__name__}: {exc}")]
            finally:
                if not args.keep_db or bid != wanted[-1]:
                    common.drop_db()
            for r in produced:
                r["seconds"] = round(time.perf_counter() - t0, 1)
                print(
                    f"  {r['id']}: {_fmt(r['figure'], r['unit'])} (baseline {_fmt(r['baseline'], r['baseline_unit'])})"
                    f"{'  ERROR ' + r['error'] if r.get('error') else ''}",
                    flush=True,
                )
            rows += produced
    finally:
        if not args.keep_db:
            common.drop_all()

    total = time.perf_counter() - started
    print()
    print(table(rows, args.quick))
    print(f"\n{mode} run, {total:.0f} s in all; logs in {common.LOG_DIR}")
    missed = [r["id"] for r in rows if r["met"] is False and not r.get("error")]
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}{'-quick' if args.quick else ''}.json"
    out.write_text(
        json.dumps(
            {
                "mode": mode,
                "at": stamp,
                "seconds": round(total, 1),
                "machine": machine,
                "benchmarks": rows,
                "missed": missed,
                "correctness_failures": [r["id"] for r in rows if r.get("error")],
            },
            indent=2,
            default=str,
        )
    )
    print(f"results: {out.relative_to(common.ROOT)}")
    if failed_correctness:
        print("a correctness check failed", file=sys.stderr)
        return 1
    if missed and not args.quick:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


def _error_row(bid: str, message: str) -> dict:
    row = common.result(bid, "", figure=None, unit="", met=False)
    row["error"] = message
    return row


if __name__ == "__main__":
    sys.exit(main())
