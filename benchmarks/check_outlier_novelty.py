"""A reduced run of the novelty benchmark: one seed, the detector's ELBO
score only, at its defaults and with the two settings for contaminated data
turned off (``max_samples=1.0, trim_fraction=0``), to see what they cost on
clean training rows. The full benchmark is ``bench_outlier.py``.

Usage (from the repository root)::

    python benchmarks/check_outlier_novelty.py [--seed 0]

Writes ``benchmarks/results/outlier_novelty_check.json``: ROC AUC and fit CPU
seconds (one thread) per task and setting.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from skvae import VAEOutlierDetector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_outlier import FAMILIES, _git_head, _versions, evaluate  # noqa: E402

SETTINGS = {
    "default": {},
    "max_samples=1.0, trim_fraction=0": {"max_samples": 1.0, "trim_fraction": 0.0},
}
OUT = Path(__file__).resolve().parent / "results" / "outlier_novelty_check.json"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.filterwarnings("ignore")
    rows = []
    for family, tasks in FAMILIES.items():
        for task, X_train, X_in, X_out in tasks(args.seed, False):
            X_test = np.vstack([X_in, X_out])
            y = np.r_[np.zeros(len(X_in)), np.ones(len(X_out))]
            for name, params in SETTINGS.items():
                det = VAEOutlierDetector(random_state=args.seed, **params)
                cpu = time.process_time()
                det.fit(X_train)
                fit = time.process_time() - cpu
                row = {"family": family, "task": task, "setting": name}
                row.update(evaluate(y, -det.score_samples(X_test)))
                row["fit_cpu_s"] = fit
                rows.append(row)
                print(f"{family} {task} {name}: {row['roc_auc']:.3f} ({fit:.1f} s)")
    summary = {}
    for name in SETTINGS:
        mine = [r for r in rows if r["setting"] == name]
        summary[name] = {
            f: float(np.mean([r["roc_auc"] for r in mine if r["family"] == f]))
            for f in FAMILIES
        }
        summary[name]["all tasks"] = float(np.mean([r["roc_auc"] for r in mine]))
        print(name, {k: round(v, 4) for k, v in summary[name].items()})
    meta = {"seed": args.seed, "git": _git_head(), "versions": _versions()}
    out = {"meta": meta, "summary": summary, "rows": rows}
    OUT.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
