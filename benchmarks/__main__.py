"""``python -m benchmarks [NAME ...] [--quick]``: run the benchmarks, print and save the ratios.

Names: ``triggers``, ``polls``, ``submit``, ``transfer``, ``import``, ``validation``, ``preflight``,
``slots``, ``http2`` (default: all, in that order).
Results go to stdout and to ``benchmarks/results/latest.json`` and ``latest.md``; ``slots`` (real
Airflow, several minutes) and ``http2`` to their own ``slots.json``/``slots.md`` and
``http2.json``/``http2.md`` beside them (``--out`` to
write elsewhere, ``--no-save`` to write nothing). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.common import RESULTS_DIR, BenchResult, ensure_airflow_home, print_result, write_results


def _registry() -> dict[str, Callable[..., BenchResult]]:
    from benchmarks import (
        bench_http2,
        bench_import,
        bench_polls,
        bench_preflight,
        bench_slots,
        bench_submit,
        bench_transfer,
        bench_triggers,
        bench_validation,
    )

    return {
        "triggers": bench_triggers.run,
        "polls": bench_polls.run,
        "submit": bench_submit.run,
        "transfer": bench_transfer.run,
        "import": bench_import.run,
        "validation": bench_validation.run,
        "preflight": bench_preflight.run,
        "slots": bench_slots.run,
        "http2": bench_http2.run,
    }


BENCHMARKS = (
    "triggers",
    "polls",
    "submit",
    "transfer",
    "import",
    "validation",
    "preflight",
    "slots",
    "http2",
)
#: Benchmarks whose rows go to a results file of their own (``<name>.json``/``.md``), not ``latest``.
SEPARATE_RESULTS = ("slots", "http2")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one or more of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a couple of minutes in all)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for latest.json/latest.md")
    parser.add_argument("--no-save", action="store_true", help="print only; write no result files")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)

    ensure_airflow_home()  # before anything imports Airflow
    registry = _registry()
    results: list[BenchResult] = []
    started = time.monotonic()
    for name in names:
        print(f"-- running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        result = registry[name](quick=args.quick)
        result.seconds = time.monotonic() - t0
        print_result(result)
        results.append(result)
    print(f"\nall done in {time.monotonic() - started:.0f} s")
    if not args.no_save:
        shared = [r for r in results if r.name not in SEPARATE_RESULTS]
        groups = [(shared, "latest")] if shared else []
        # A skipped benchmark (no rows, e.g. http2 without h2) keeps its committed file.
        groups += [([r], r.name) for r in results if r.name in SEPARATE_RESULTS and r.rows]
        for group, stem in groups:
            path = write_results(group, quick=args.quick, out_dir=args.out, stem=stem)
            print(f"results: {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
