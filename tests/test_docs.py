"""The documentation site builds without a warning, and public docstrings pass
numpydoc's validation.

The build runs the gallery's examples with their quick settings (docs/conf.py
sets SKVAE_EXAMPLES_QUICK=1). Both tests skip where the ``docs`` extra is not
installed; CI installs it (``.ci/run``).
"""

import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import skvae
import skvae.datasets

ROOT = Path(__file__).resolve().parents[1]
DOCS_PACKAGES = (
    "sphinx",
    "sphinx_gallery",
    "numpydoc",
    "pydata_sphinx_theme",
    "myst_parser",
)
MISSING = [p for p in DOCS_PACKAGES if importlib.util.find_spec(p) is None]
needs_docs = pytest.mark.skipif(
    bool(MISSING), reason=f"docs extra not installed ({', '.join(MISSING)})"
)


def _docs_copy(tmp_path):
    """docs/ copied into ``tmp_path/src`` (without anything a build left
    there), beside links to the examples and benchmarks it reads: the build
    writes its generated pages (autosummary's ``generated``, sphinx-gallery's
    ``auto_examples``) into the copy, never into the source tree, so that a
    docs build running at the same time cannot break this one."""
    src = tmp_path / "src"
    build_outputs = shutil.ignore_patterns("_build", "generated", "auto_examples")
    shutil.copytree(ROOT / "docs", src / "docs", ignore=build_outputs)
    for folder in ("examples", "benchmarks"):
        (src / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return src / "docs"


@needs_docs
def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    docs = _docs_copy(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        + ["-d", str(tmp_path / "doctrees"), str(docs), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    for page in (
        "index.html",
        "api.html",
        "generated/skvae.VAETransformer.html",
        "generated/skvae.VAEOutlierDetector.html",
        "generated/skvae.VAEImputer.html",
        "auto_examples/plot_anomaly_detection.html",
        "auto_examples/plot_imputation.html",
        "benchmarks/outlier.html",
        "benchmarks/imputation.html",
        "user_guide/model.html",
        "user_guide/imputation.html",
        "user_guide/tables.html",
        "auto_examples/plot_synthetic_table.html",
        "benchmarks/synthetic.html",
        "benchmarks/tabular.html",
    ):
        assert (out / page).is_file(), page
    api = (out / "api.html").read_text()
    for name in skvae.__all__:
        if name != "__version__":
            assert f"skvae.{name}" in api, f"{name} is missing from docs/api.rst"


# Checks not enforced, and why:
IGNORED = {
    "ES01": "an extended summary: one-line summaries suffice for short methods",
    "SA01": "a See Also section: the classes have one; methods need none",
    "EX01": "an Examples section: the classes carry doctests, the gallery the rest",
    "RT02": "the Returns line holding the type only: skvae names its return "
    "values (`self : VAETransformer`), as scikit-learn does",
}

# The torch building blocks document their methods in one line with the shapes
# inline, as torch's own modules do, and inherit nn.Module's constructor
# arguments; for them these checks are not enforced either:
TORCH_IGNORED = {
    "PR01": "every parameter in a Parameters section",
    "RT01": "a Returns section",
    "SS02": "a capital first letter (summaries open with a formula or a literal)",
    "SS05": "an infinitive first verb",
}
ESTIMATORS = (
    "skvae.VAETransformer",
    "skvae.VAEOutlierDetector",
    "skvae.VAEImputer",
    "skvae.datasets",
)


def _public_names():
    """Every public class and function, and the public methods skvae defines.

    Methods that override skorch's ``NeuralNet`` keep skorch's contract and
    docstrings, so they are left to skorch.
    """
    from skorch import NeuralNet

    names = []
    for name in skvae.__all__:
        obj = getattr(skvae, name)
        if not inspect.isclass(obj):
            continue
        names.append(f"skvae.{name}")
        for attr, value in vars(obj).items():
            if attr.startswith("_") or not (
                callable(value) or isinstance(value, (classmethod, staticmethod))
            ):
                continue
            if issubclass(obj, NeuralNet) and hasattr(NeuralNet, attr):
                continue
            names.append(f"skvae.{name}.{attr}")
    for name in skvae.likelihoods.__all__:
        obj = getattr(skvae.likelihoods, name)
        if inspect.isclass(obj):
            names.append(f"skvae.likelihoods.{name}")
            base = skvae.likelihoods.Likelihood
            names += [
                f"skvae.likelihoods.{name}.{attr}"
                for attr, value in vars(obj).items()
                if not attr.startswith("_")
                and callable(value)
                # an override without a docstring keeps the base class's
                and not (obj is not base and hasattr(base, attr) and not value.__doc__)
            ]
    names += [
        f"skvae.datasets.{n}"
        for n, f in vars(skvae.datasets).items()
        if inspect.isfunction(f)
        and not n.startswith("_")
        and f.__module__ == "skvae.datasets"
    ]
    return names


@needs_docs
@pytest.mark.parametrize("name", _public_names())
def test_numpydoc_validation(name):
    from numpydoc.validate import validate

    ignored = set(IGNORED)
    if not name.startswith(ESTIMATORS):
        ignored |= set(TORCH_IGNORED)
    errors = [
        f"{code}: {message}"
        for code, message in validate(name)["errors"]
        if code not in ignored
    ]
    assert not errors, "\n".join(errors)
