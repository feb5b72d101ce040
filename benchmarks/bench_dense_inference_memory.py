"""tracemalloc peak of inference on a 100,000 x 500 dense float32 matrix (190.7 MiB).

Shows that transform, score_samples and inverse_transform allocate no copy of
the input: numpy's peak is the output. torch's own buffers (one batch of
activations at a time) are not seen by tracemalloc.

Usage::

    python benchmarks/bench_dense_inference_memory.py
    python benchmarks/bench_dense_inference_memory.py --quick   # 10,000 x 200

Writes ``results/dense_inference_memory.json``; ``report.py`` then writes
``RESULTS_production.md``.
"""

import argparse
import time
import tracemalloc
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

from skvae import VAETransformer

QUICK = {"rows": 10_000, "features": 200}


def measure(rows, features):
    X = np.random.default_rng(0).standard_normal((rows, features)).astype(np.float32)
    vae = VAETransformer(
        n_components=10, hidden_layer_sizes=(128,), max_iter=1, random_state=0
    ).fit(X[:2000])
    Z = vae.transform(X)
    out = {
        "rows": rows,
        "features": features,
        "input_mb": round(X.nbytes / 2**20, 1),
        "calls": {},
    }
    log(f"input {X.nbytes / 2**20:.1f} MiB")
    calls = {
        "transform": lambda: vae.transform(X),
        "score_samples": lambda: vae.score_samples(X),
        "inverse_transform": lambda: vae.inverse_transform(Z),
    }
    for name, call in calls.items():
        tracemalloc.start()
        start = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out["calls"][name] = {
            "output_mb": round(result.nbytes / 2**20, 1),
            "tracemalloc_peak_mb": round(peak / 2**20, 1),
            "seconds": round(seconds, 3),
        }
        log(
            f"{name}: output {result.nbytes / 2**20:.1f} MiB, "
            f"tracemalloc peak {peak / 2**20:.1f} MiB"
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=500)
    add_common_args(parser)
    args = apply_quick(parser.parse_args(argv), parser, QUICK)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    config = {"rows": args.rows, "features": args.features, "quick": args.quick}
    with Measurement(
        "dense_inference_memory",
        out_dir=out_dir_of(args),
        config=config,
        notes=args.note,
    ) as m:
        m.results.update(measure(args.rows, args.features))
    write_reports(args)


if __name__ == "__main__":
    main()
