"""Anomaly tables built ADBench's way from data outside ADBench: a check of
the outlier detector's defaults on tables they were not chosen on.

ADBench (Han et al., NeurIPS 2022, section 3.2) makes most of its classical
tables from classification data: one class, or a few, as the anomalies, kept
at their natural rate when rare and otherwise downsampled. This script does
the same with the offline data skvae's benchmarks already use, and writes one
``.npz`` per table (``X``: float64 features, ``y``: 1 = anomaly), named after
ADBench's pattern ``<number>_<name>`` (numbers from 101, outside ADBench's 1-47)::

    101_seattle_weather  vega_datasets seattle-weather: precipitation,
                         temp_max, temp_min, wind; anomaly: a snow day
                         (natural rate, 26 of 1,461 days)
    102_cars             vega_datasets cars, 7 numeric columns (rows with a
                         missing value dropped); anomaly: a European car,
                         downsampled to 5 % of the rows
    103_adult            UCI adult (``../shared/data/adult``): its 6 numeric
                         columns and sex; anomaly: income >50K, downsampled
                         to 5 % (ADBench's census table is of this kind)
    104_fashion_mnist    Fashion-MNIST (Debian's ``dataset-fashion-mnist``),
                         pixels / 255; 5,000 images of the other classes and
                         250 bags (class 8)
    105_iris             sklearn iris: setosa and versicolor, and 5 virginica

Tables whose source is missing (vega_datasets is in the ``benchmarks`` extra;
adult and Fashion-MNIST may be absent) are skipped with a message. Then run
the ADBench family on the folder::

    python benchmarks/make_unseen_anomaly_tables.py --out DIR
    SKVAE_ADBENCH_DIR=DIR python benchmarks/bench_outlier.py --only adbench \\
        --seeds 0 1 2 --out benchmarks/results/outlier_unseen.json

The downsampling draws with ``numpy.random.default_rng(0)``, so the tables
are the same on every run.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ADULT = HERE.parent.parent / "shared" / "data" / "adult" / "adult.csv"
RATE = 0.05


def downsample(X, y, rate, rng):
    """X, y with the anomalies (y == 1) drawn down to ``rate`` of the rows."""
    normal, anomalous = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    keep = int(round(rate * len(normal) / (1 - rate)))
    if keep < len(anomalous):
        anomalous = np.sort(rng.choice(anomalous, keep, replace=False))
    rows = np.sort(np.r_[normal, anomalous])
    return X[rows], y[rows]


def seattle_weather(rng):
    from vega_datasets import local_data

    df = local_data.seattle_weather()
    X = df[["precipitation", "temp_max", "temp_min", "wind"]].to_numpy(float)
    return X, (df["weather"] == "snow").to_numpy(int)


def cars(rng):
    from vega_datasets import local_data

    df = local_data.cars().dropna()
    df = df.assign(Year=df["Year"].dt.year)
    columns = [
        "Miles_per_Gallon",
        "Cylinders",
        "Displacement",
        "Horsepower",
        "Weight_in_lbs",
        "Acceleration",
        "Year",
    ]
    y = (df["Origin"] == "Europe").to_numpy(int)
    return downsample(df[columns].to_numpy(float), y, RATE, rng)


def adult(rng):
    import pandas as pd

    if not ADULT.exists():
        raise FileNotFoundError(ADULT)
    df = pd.read_csv(ADULT, skipinitialspace=True)
    numeric = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss"]
    X = np.column_stack(
        [df[numeric + ["hours-per-week"]].to_numpy(float), df["sex"] == "Male"]
    ).astype(float)
    return downsample(X, (df["income"] == ">50K").to_numpy(int), RATE, rng)


def fashion_mnist(rng):
    from skvae.datasets import load_fashion_mnist

    X, labels = load_fashion_mnist("train")
    normal = rng.choice(np.flatnonzero(labels != 8), 5000, replace=False)
    bags = rng.choice(np.flatnonzero(labels == 8), 250, replace=False)
    rows = np.sort(np.r_[normal, bags])
    return X[rows].astype(np.float64) / 255.0, (labels[rows] == 8).astype(int)


def iris(rng):
    from sklearn.datasets import load_iris

    X, labels = load_iris(return_X_y=True)
    keep = np.r_[np.flatnonzero(labels < 2), rng.choice(np.flatnonzero(labels == 2), 5)]
    keep = np.sort(keep)
    return X[keep], (labels[keep] == 2).astype(int)


TABLES = {
    "101_seattle_weather": seattle_weather,
    "102_cars": cars,
    "103_adult": adult,
    "104_fashion_mnist": fashion_mnist,
    "105_iris": iris,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, build in TABLES.items():
        try:
            X, y = build(np.random.default_rng(0))
        except (ImportError, OSError) as exc:  # a source that is not installed
            print(f"{name}: skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        np.savez(args.out / f"{name}.npz", X=X, y=y)
        print(f"{name}: {X.shape[0]} x {X.shape[1]}, anomalies {y.mean():.3f}")


if __name__ == "__main__":
    main()
