"""Write the benchmark reports (Markdown and plots) from the JSON run records.

Usage (from the repository root)::

    python benchmarks/report.py                      # benchmarks/results/*.json
    python benchmarks/report.py --dir benchmarks/quick
    python benchmarks/report.py --check              # exit 1 if a file is stale

Reads ``<dir>/results/<name>.json`` (written by the measuring scripts, see
``_common.Measurement``) and writes ``<dir>/RESULTS*.md`` and the plots of the
pages that have data. The output depends on the JSON alone: rerunning this
without measuring gives byte-identical Markdown (and identical PNGs with the
same matplotlib). It imports neither torch nor skvae.

The pages and their sections are registered by the modules in ``MODULES``
(``_report.py`` is the framework); to add a benchmark's report, see
``benchmarks/README.md``.
"""

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HERE, results_dir  # noqa: E402
from _report import build  # noqa: E402

# Each registers its pages and sections on import; pages keep this order.
MODULES = (
    "report_results",
    "report_fmnist_seeds",
    "report_production",
    "report_tabular",
    "report_imputation",
    "report_synthetic",
    "report_speed",
)
for _name in MODULES:
    importlib.import_module(_name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir",
        type=Path,
        default=HERE,
        help="reads DIR/results/*.json, writes DIR/RESULTS*.md (default: benchmarks/)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a Markdown file differs from the JSON's",
    )
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args(argv)
    texts, plots, data = build(args.dir)
    if not texts:
        print(f"no results in {results_dir(args.dir)}")
        return 1
    if args.check:
        stale = [p for p, t in texts.items() if not p.exists() or p.read_text() != t]
        for path in stale:
            print(f"stale: {path} (run python benchmarks/report.py)")
        return 1 if stale else 0
    for path, text in texts.items():
        path.write_text(text)
        print(f"wrote {path}")
    if not args.no_plots:
        for path, draw in plots:
            draw(data, path)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
