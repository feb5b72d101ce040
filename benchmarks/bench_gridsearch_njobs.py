"""Speed-up of GridSearchCV(n_jobs=2) over n_jobs=1 on digits.

A 4-point grid (n_components x beta), 3-fold CV, so 12 fits of VAETransformer
on about 1,200 rows each, plus the refit. The parent's torch threads are left
at torch's default (one per core), as a user's would be; joblib's loky workers
get cpu_count // n_jobs threads each (see ``skvae._runtime``).

Each setting runs ``--repeats`` times, alternating, and the best and median wall
times are reported: the machine may be shared, and alternating spreads any
outside load over both settings.

Usage::

    python benchmarks/bench_gridsearch_njobs.py [--max-iter 20] [--repeats 3]
        [--parent-threads 1]
"""

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import torch
from joblib.externals.loky import get_reusable_executor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer

GRID = {"n_components": [2, 5], "beta": [0.5, 1.0]}


def search(X, n_jobs, max_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        grid = GridSearchCV(
            VAETransformer(max_iter=max_iter, random_state=0),
            GRID,
            cv=3,
            n_jobs=n_jobs,
        ).fit(X)
        return time.perf_counter() - start, grid


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--parent-threads",
        type=int,
        default=None,
        help="torch threads of the n_jobs=1 search (default: torch's, one a core)",
    )
    args = parser.parse_args()
    if args.parent_threads:
        torch.set_num_threads(args.parent_threads)
    X = load_digits().data / 16
    print(
        f"cpu_count={os.cpu_count()}, "
        f"parent torch threads={torch.get_num_threads()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"load average before={os.getloadavg()[0]:.2f}"
    )
    # Start the loky workers once (process start and torch import are about
    # 3-5 s, paid by the first parallel search of a session only).
    start = time.perf_counter()
    search(X[:90], 2, 1)
    print(
        f"worker start-up (first n_jobs=2 call, tiny search): "
        f"{time.perf_counter() - start:.1f} s"
    )
    times = {1: [], 2: []}
    scores = {}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            seconds, grid = search(X, n_jobs, args.max_iter)
            times[n_jobs].append(seconds)
            scores[n_jobs] = grid.cv_results_["mean_test_score"]
    for n_jobs in (1, 2):
        t = times[n_jobs]
        print(
            f"n_jobs={n_jobs}: best {min(t):.1f} s, "
            f"median {statistics.median(t):.1f} s, all {[round(x, 1) for x in t]}"
        )
    print(
        f"speed-up (best n_jobs=1 / best n_jobs=2): "
        f"{min(times[1]) / min(times[2]):.2f}x; median ratio "
        f"{statistics.median(times[1]) / statistics.median(times[2]):.2f}x"
    )
    print(f"same scores both ways: {np.allclose(scores[1], scores[2])}")
    print(f"load average after={os.getloadavg()[0]:.2f}")
    get_reusable_executor().shutdown()


if __name__ == "__main__":
    main()
