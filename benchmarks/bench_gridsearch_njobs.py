"""Speed-up of GridSearchCV(n_jobs=2) over n_jobs=1 on digits.

A 4-point grid (n_components x beta), 3-fold CV, so 12 fits of VAETransformer
on about 1,200 rows each, plus the refit. The parent's torch threads are left
at torch's default (one per core), as a user's would be; joblib's loky workers
get cpu_count // n_jobs threads each (see ``skvae._runtime``; the script reads
the workers' torch threads and records them).

Each setting runs ``--repeats`` times, alternating, and the best and median wall
times are reported: the machine may be shared, and alternating spreads any
outside load over both settings.

Usage::

    python benchmarks/bench_gridsearch_njobs.py [--max-iter 20] [--repeats 3]
        [--parent-threads 1]
    python benchmarks/bench_gridsearch_njobs.py --quick      # 1 epoch, 1 repeat

Stores the run in ``results/gridsearch_njobs.json`` under a label made of its
arguments (``--label`` to choose one); ``report.py`` then writes
``RESULTS_production.md``.
"""

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import torch
from _common import (
    Measurement,
    add_common_args,
    apply_quick,
    log,
    out_dir_of,
    write_reports,
)
from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer

GRID = {"n_components": [2, 5], "beta": [0.5, 1.0]}
CV = 3
QUICK = {"max_iter": 1, "repeats": 1}


def search(X, n_jobs, max_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        grid = GridSearchCV(
            VAETransformer(max_iter=max_iter, random_state=0),
            GRID,
            cv=CV,
            n_jobs=n_jobs,
        ).fit(X)
        return time.perf_counter() - start, grid


def worker_threads():
    import torch

    return torch.get_num_threads()


def measure(args):
    X = load_digits().data / 16
    out = {
        "cpu_count": os.cpu_count(),
        "parent_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_before": os.getloadavg()[0],
    }
    log(
        f"cpu_count={out['cpu_count']}, parent torch threads="
        f"{out['parent_threads']}, OMP_NUM_THREADS={out['omp_num_threads']}, "
        f"load average before={out['loadavg_before']:.2f}"
    )
    # Start the loky workers once (process start and torch import are about
    # 3-5 s, paid by the first parallel search of a session only).
    start = time.perf_counter()
    search(X[:90], 2, 1)
    out["worker_startup_s"] = time.perf_counter() - start
    out["worker_torch_threads"] = Parallel(n_jobs=2)(
        delayed(worker_threads)() for _ in range(4)
    )
    log(
        f"worker start-up (first n_jobs=2 call, tiny search): "
        f"{out['worker_startup_s']:.1f} s; torch threads in the workers: "
        f"{out['worker_torch_threads']}"
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
        out[f"n_jobs_{n_jobs}"] = {
            "best_s": min(t),
            "median_s": statistics.median(t),
            "all_s": t,
        }
        log(
            f"n_jobs={n_jobs}: best {min(t):.1f} s, "
            f"median {statistics.median(t):.1f} s, all {[round(x, 1) for x in t]}"
        )
    out["speedup_best"] = min(times[1]) / min(times[2])
    out["speedup_median"] = statistics.median(times[1]) / statistics.median(times[2])
    out["same_scores"] = bool(np.allclose(scores[1], scores[2]))
    out["loadavg_after"] = os.getloadavg()[0]
    log(
        f"speed-up (best n_jobs=1 / best n_jobs=2): {out['speedup_best']:.2f}x; "
        f"median ratio {out['speedup_median']:.2f}x; same scores both ways: "
        f"{out['same_scores']}; load average after={out['loadavg_after']:.2f}"
    )
    get_reusable_executor().shutdown()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--parent-threads",
        type=int,
        default=None,
        help="torch threads of the n_jobs=1 search (default: torch's, one a core)",
    )
    add_common_args(parser, label=True)
    args = apply_quick(parser.parse_args(argv), parser, QUICK)
    if args.parent_threads:
        torch.set_num_threads(args.parent_threads)
    config = {
        "max_iter": args.max_iter,
        "repeats": args.repeats,
        "cv": CV,
        "grid": GRID,
        "parent_threads": args.parent_threads,
        "quick": args.quick,
    }
    label = args.label or (
        f"max_iter {args.max_iter}, parent torch threads: "
        f"{args.parent_threads or 'default'}"
    )
    with Measurement(
        "gridsearch_njobs",
        out_dir=out_dir_of(args),
        config=config,
        label=label,
        notes=args.note,
    ) as m:
        m.results.update(measure(args))
    write_reports(args)


if __name__ == "__main__":
    main()
