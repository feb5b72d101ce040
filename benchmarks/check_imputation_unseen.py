"""Imputation on tables outside the imputation benchmark: iris (sklearn),
cars and seattle_weather (vega_datasets; their numeric columns, rows with a
missing value dropped), with the benchmark's masks (MCAR 20/30/50 %, MAR) and
3 seeds, VAEImputer at its defaults against IterativeImputer and KNNImputer.
No default of VAEImputer was chosen on these tables. The full benchmark is
``bench_imputation.py``.

Usage (from the repository root; ``--label`` names the skvae version, e.g. to
compare checkouts run with ``PYTHONPATH=<checkout>``)::

    python benchmarks/check_imputation_unseen.py [--label NAME] [--vae-only]

Writes ``benchmarks/results/imputation_unseen.json`` (runs keyed by label):
the MSE on the hidden entries of standardized columns, mean over seeds, and
fit + transform CPU seconds (one thread).
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_iris
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skvae
from skvae import VAEImputer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_imputation import PATTERNS, mask_rng, run_one  # noqa: E402
from bench_outlier import _git_head  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "imputation_unseen.json"
PATTERN_NAMES = ("mcar20", "mcar30", "mcar50", "mar")


def _vega(name):
    from vega_datasets import local_data  # in the wheel: nothing downloaded

    frame = getattr(local_data, name)().select_dtypes("number").dropna()
    return frame.to_numpy(dtype=np.float64)


TABLES = {
    "iris": lambda: load_iris().data,
    "cars": lambda: _vega("cars"),
    "seattle_weather": lambda: _vega("seattle_weather"),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="default")
    parser.add_argument("--vae-only", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.filterwarnings("ignore")
    imputers = {"VAEImputer": lambda seed: VAEImputer(random_state=seed)}
    if not args.vae_only:
        imputers["IterativeImputer"] = lambda seed: IterativeImputer(random_state=seed)
        imputers["KNNImputer"] = lambda seed: KNNImputer()
    rows = []
    for table, load in TABLES.items():
        X = StandardScaler().fit_transform(load())
        for pattern in PATTERN_NAMES:
            for name, make in imputers.items():
                mse, cpu = [], []
                for seed in (0, 1, 2):
                    hidden = PATTERNS[pattern][1](X, mask_rng(seed, table, pattern))
                    X_miss = X.copy()
                    X_miss[hidden] = np.nan
                    record = run_one(make(seed), X, X_miss)
                    cpu.append(record["fit_cpu_s"] + record["transform_cpu_s"])
                    mse.append(record["mse"])
                row = {"table": table, "shape": list(X.shape), "pattern": pattern}
                row.update(imputer=name, mse=float(np.mean(mse)), mse_seeds=mse)
                row["cpu_s"] = float(np.mean(cpu))
                rows.append(row)
                print(f"{table} {pattern} {name}: MSE {row['mse']:.3f}")
    runs = json.loads(OUT.read_text())["runs"] if OUT.exists() else {}
    runs[args.label] = {
        # the checkout skvae was imported from (PYTHONPATH may pick another)
        "skvae_commit": _git_head(Path(skvae.__file__).resolve().parent),
        "skvae": skvae.__version__,
        "rows": rows,
    }
    OUT.write_text(json.dumps({"runs": runs}, indent=1))


if __name__ == "__main__":
    main()
