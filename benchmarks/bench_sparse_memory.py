"""Peak memory of fit (1 epoch) and transform on a large sparse CSR matrix.

Bag-of-words-like data: 200,000 x 5,000, 0.1 % of the entries 1.0, float32,
Bernoulli likelihood. Dense, the matrix would take 200,000 * 5,000 * 4 bytes =
4.0 GB (8.0 GB in float64); skvae must densify one mini-batch at a time and
never allocate anything near that.

Each phase runs in a fresh subprocess and reports

- ``rss_before``: resident memory just before the measured call (the data,
  torch, the model),
- ``peak_extra``: the process's peak resident memory (``ru_maxrss``) during
  the call minus ``rss_before``; covers torch's allocations too,
- ``tracemalloc_peak``: peak of the Python-heap allocations (numpy and scipy
  buffers) made during the call, from :mod:`tracemalloc`.

Usage::

    python benchmarks/bench_sparse_memory.py            # the issue's size
    python benchmarks/bench_sparse_memory.py --rows 50000
    python benchmarks/bench_sparse_memory.py --quick    # 20,000 x 2,000, seconds

Stores the run in ``results/sparse_memory.json`` under a label made of its
arguments (``--label`` to choose one): runs of other sizes stay, a rerun of
the same size replaces the old one. ``report.py`` then writes
``RESULTS_production.md``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp
from _common import (
    Measurement,
    add_common_args,
    apply_quick,
    log,
    out_dir_of,
    write_reports,
)

PARAMS = {
    "n_components": 10,
    "likelihood": "bernoulli",
    "hidden_layer_sizes": (128,),
    "batch_size": 256,
    "max_iter": 1,
    "random_state": 0,
}
QUICK = {"rows": 20_000, "features": 2_000}


def make_data(n_rows, n_features, density, seed=0):
    """A CSR float32 matrix of 1.0s at ``density``, built without a dense step."""
    rng = np.random.default_rng(seed)
    nnz = int(round(n_rows * n_features * density))
    rows = rng.integers(0, n_rows, nnz)
    cols = rng.integers(0, n_features, nnz)
    X = sp.csr_matrix(
        (np.ones(nnz, dtype=np.float32), (rows, cols)), shape=(n_rows, n_features)
    )
    X.sum_duplicates()
    X.data[:] = 1.0
    return X


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(call):
    rss_before = rss_bytes()
    max_before = max_rss_bytes()
    tracemalloc.start()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_after = max_rss_bytes()
    return result, {
        "seconds": round(seconds, 1),
        "rss_before_mb": round(rss_before / 2**20, 1),
        # Exact when the call set a new high-water mark, else an upper bound.
        "peak_extra_mb": round((max_after - rss_before) / 2**20, 1),
        "peak_extra_exact": max_after > max_before,
        "peak_rss_mb": round(max_after / 2**20, 1),
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 1),
    }


def run_phase(args):
    import torch

    torch.set_num_threads(args.threads)
    import warnings

    from skvae import VAETransformer

    warnings.simplefilter("ignore")
    X = make_data(args.rows, args.features, args.density)

    out = {
        "phase": args.phase,
        "nnz": int(X.nnz),
        "csr_mb": round(
            (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20, 1
        ),
    }
    if args.phase == "data":
        _, stats = measure(lambda: None)
    elif args.phase == "fit":
        # Warm-up on a few rows: torch imports its optimizer machinery (about
        # 60 MB of Python objects) at the first step; that is not data.
        VAETransformer(**PARAMS).fit(X[:300])
        _, stats = measure(lambda: VAETransformer(**PARAMS).fit(X))
    else:  # transform: a model fitted on a few rows, then every row encoded
        vae = VAETransformer(**PARAMS).fit(X[:2000])
        Z, stats = measure(lambda: vae.transform(X))
        out["output_mb"] = round(Z.nbytes / 2**20, 1)
    out.update(stats)
    print(json.dumps(out))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=5_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--phase", choices=["data", "fit", "transform"])
    add_common_args(parser, label=True)
    args = apply_quick(parser.parse_args(argv), parser, QUICK)
    if args.phase:
        return run_phase(args)
    import torch

    torch.set_num_threads(args.threads)  # recorded; each phase sets its own
    dense_gb = args.rows * args.features * 4 / 1e9
    log(
        f"X: {args.rows} x {args.features} CSR float32, density {args.density}; "
        f"dense float32 would be {dense_gb:.1f} GB"
    )
    config = {
        "rows": args.rows,
        "features": args.features,
        "density": args.density,
        "threads": args.threads,
        "params": PARAMS,
        "quick": args.quick,
    }
    label = args.label or (
        f"{args.rows:,} x {args.features:,}, density {args.density:g}, "
        f"{args.threads} thread{'s' * (args.threads > 1)}"
    )
    with Measurement(
        "sparse_memory",
        out_dir=out_dir_of(args),
        config=config,
        label=label,
        notes=args.note,
    ) as m:
        phases = {}
        for phase in ("data", "fit", "transform"):
            cmd = [
                sys.executable,
                __file__,
                "--phase",
                phase,
                "--rows",
                str(args.rows),
                "--features",
                str(args.features),
                "--density",
                str(args.density),
                "--threads",
                str(args.threads),
            ]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            log(out.stdout.strip())
            phases[phase] = json.loads(out.stdout.strip().splitlines()[-1])
        m.results.update(
            nnz=phases["data"]["nnz"],
            csr_mb=phases["data"]["csr_mb"],
            phases={
                name: {
                    k: v for k, v in ph.items() if k not in ("phase", "nnz", "csr_mb")
                }
                for name, ph in phases.items()
            },
        )
    write_reports(args)


if __name__ == "__main__":
    main()
