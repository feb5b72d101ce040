"""Smoke-run every gallery script, small: SKVAE_EXAMPLES_QUICK=1 shrinks the data
and epochs, SKVAE_FIGURE_DIR sends the PNGs to a temporary folder.

Checks that each script runs to the end and writes the figures it names; the
pictures themselves are only meaningful at full size.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skvae.datasets import has_fashion_mnist

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))


def test_gallery_is_there():
    names = {p.name for p in SCRIPTS}
    assert {
        "plot_digits.py",
        "plot_latent_comparison.py",
        "plot_beta_grid_search.py",
        "plot_anomaly_detection.py",
        "plot_fashion_mnist.py",
        "plot_synthetic_table.py",
        "plot_conditional_rows.py",
    } <= names


def _run(script, tmp_path, **env):
    env = {
        **os.environ,
        "SKVAE_EXAMPLES_QUICK": "1",
        "SKVAE_FIGURE_DIR": str(tmp_path),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_runs_and_writes_its_figures(script, tmp_path):
    result = _run(script, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    expected = set(re.findall(r'save\(fig, "([^"]+\.png)"\)', script.read_text()))
    assert expected, "every example saves at least one figure"
    if script.stem == "plot_fashion_mnist" and not has_fashion_mnist():
        assert "apt-get install dataset-fashion-mnist" in result.stdout
        return
    written = {p.name for p in tmp_path.glob("*.png")}
    assert expected <= written
    assert all((tmp_path / name).stat().st_size > 1000 for name in expected)


def test_fashion_example_without_the_data_says_how_to_install(tmp_path):
    script = EXAMPLES / "plot_fashion_mnist.py"
    code = (
        "import sys, runpy; from skvae import datasets; "
        "datasets.FASHION_MNIST_DIRS = ('/nonexistent',); "
        f"sys.path.insert(0, {str(EXAMPLES)!r}); "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    env = {**os.environ, "SKVAE_FIGURE_DIR": str(tmp_path), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "apt-get install dataset-fashion-mnist" in result.stdout
    assert not list(tmp_path.glob("*.png"))
