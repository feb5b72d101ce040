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
    python benchmarks/bench_sparse_memory.py --rows 20000 --features 2000
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
    params = {
        "n_components": 10,
        "likelihood": "bernoulli",
        "hidden_layer_sizes": (128,),
        "batch_size": 256,
        "max_iter": 1,
        "random_state": 0,
    }
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
        VAETransformer(**params).fit(X[:300])
        _, stats = measure(lambda: VAETransformer(**params).fit(X))
    else:  # transform: a model fitted on a few rows, then every row encoded
        vae = VAETransformer(**params).fit(X[:2000])
        Z, stats = measure(lambda: vae.transform(X))
        out["output_mb"] = round(Z.nbytes / 2**20, 1)
    out.update(stats)
    print(json.dumps(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=5_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--phase", choices=["data", "fit", "transform"])
    args = parser.parse_args()
    if args.phase:
        return run_phase(args)
    dense_gb = args.rows * args.features * 4 / 1e9
    print(
        f"X: {args.rows} x {args.features} CSR float32, density {args.density}; "
        f"dense float32 would be {dense_gb:.1f} GB"
    )
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
        print(
            subprocess.run(
                cmd, check=True, capture_output=True, text=True
            ).stdout.strip()
        )


if __name__ == "__main__":
    main()
