"""Where the examples write their PNGs, and showing them only on a display."""

import os
import sys
import warnings
from pathlib import Path

import matplotlib

if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

# SKVAE_EXAMPLES_QUICK=1: tiny data and few epochs, for CI smoke runs (the
# pictures are then not meaningful).
QUICK = os.environ.get("SKVAE_EXAMPLES_QUICK", "") not in ("", "0")
if QUICK:
    # A few epochs do not converge, by design: no warning (and no path of
    # this machine) in the gallery's printed output.
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)

FIGURE_DIR = Path(
    os.environ.get("SKVAE_FIGURE_DIR", Path(__file__).resolve().parent / "figures")
)


def save(fig, name):
    """Save ``fig`` as FIGURE_DIR/name and print where it went (not in the
    documentation's gallery, which shows the figure itself)."""
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    path = FIGURE_DIR / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    if "sphinx_gallery" not in sys.modules:
        print(f"wrote {path}")


def show():
    """plt.show() only where a display is there."""
    if matplotlib.get_backend().lower() != "agg":
        plt.show()
