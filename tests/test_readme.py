"""Every Python block of README.md and of the user guide runs as pasted.

Each block is run alone in a fresh interpreter (``python -c``), in an empty
folder, as a newcomer pasting it would: a block that leans on a name from an
earlier block, or on a file of this repository, fails here. A block whose first
line says ``# needs MODULE (...)`` is skipped, with that reason, where MODULE
is not installed (an optional package, not a dependency of skvae). Blocks that
appear in both places run once.
"""

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDS = re.compile(r"#\s*needs\s+([A-Za-z_][\w.]*)")


def _markdown_blocks(path):
    text = path.read_text()
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.M | re.S):
        line = text.count("\n", 0, match.start()) + 1
        yield f"{path.name}:{line}", match.group(1)


def _rst_blocks(path):
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() not in (".. code-block:: python", ".. code:: python"):
            continue
        indent = len(line) - len(line.lstrip())
        body = []
        for following in lines[i + 1 :]:
            stripped = following.strip()
            if stripped and len(following) - len(following.lstrip()) <= indent:
                break
            if not body and stripped.startswith(":"):  # a directive option
                continue
            body.append(following)
        yield (
            f"{path.parent.name}/{path.name}:{i + 1}",
            textwrap.dedent("\n".join(body).strip("\n") + "\n"),
        )


def _blocks():
    sources = [ROOT / "README.md"] + sorted(
        (ROOT / "docs" / "user_guide").glob("*.rst")
    )
    seen = {}
    for path in sources:
        found = _markdown_blocks(path) if path.suffix == ".md" else _rst_blocks(path)
        for where, code in found:
            key = hashlib.sha1(code.encode()).hexdigest()
            if key not in seen:
                seen[key] = (where, code)
    return list(seen.values())


BLOCKS = _blocks()


def test_blocks_are_found():
    where = [w for w, _ in BLOCKS]
    assert sum(w.startswith("README.md") for w in where) >= 8
    assert sum(w.startswith("user_guide/") for w in where) >= 5


@pytest.mark.parametrize("code", [c for _, c in BLOCKS], ids=[w for w, _ in BLOCKS])
def test_block_runs_as_pasted(code, tmp_path):
    first = code.lstrip().splitlines()[0]
    needs = NEEDS.match(first)
    if needs and importlib.util.find_spec(needs.group(1)) is None:
        pytest.skip(f"the block says: {first.lstrip('# ')}")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        # the repository's skvae, whichever folder pytest started in
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"the block fails when pasted alone:\n{code}\n"
        + result.stdout[-2000:]
        + result.stderr[-4000:]
    )
