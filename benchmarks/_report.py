"""The reporting framework: pages, sections, plots, and what every section says.

A *page* is one Markdown file; a *section* renders one benchmark (one
``results/<name>.json``) into a page, under a heading: its results first, then,
collapsed (an HTML ``<details>`` block, which GitHub and the docs site both
fold), a paragraph written here for every section: the command that measured
it, when, the machine, and the load measured while it ran
(``_common.describe_load``), and the run's notes. A page opens with its
``summary`` (the results in a few sentences, from the data) where it has one,
and ends with how it was generated. A *plot* draws one PNG from a page's
benchmarks. The ``report_*.py`` modules register theirs with
``page``, ``@section`` and ``@plot``; ``report.py`` imports them and writes.
"""

from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    describe_load,
    describe_machine,
    load_verdict,
    read_json,
    results_dir,
)

# ---------------------------------------------------------------- registry


@dataclass
class Section:
    name: str  # the benchmark: results/<name>.json
    title: str
    command: str  # how to measure it
    render: object  # runs -> Markdown lines under the heading
    multi: bool  # render every stored run (else only the latest)


@dataclass
class Page:
    filename: str
    title: str
    intro: list = field(default_factory=list)
    sections: list = field(default_factory=list)
    plots: list = field(default_factory=list)  # (filename, draw(data))
    summary: object = None  # data -> Markdown lines, the page's results first


PAGES = {}


def page(filename, title, intro=(), summary=None):
    """Register a page; ``summary(data)`` (``data``: benchmark name -> runs)
    returns the Markdown lines that open it, the results in brief, or []."""
    PAGES[filename] = Page(filename, title, list(intro), summary=summary)


def section(name, *, page, title, command, multi=False):
    """Register ``render(runs) -> list of Markdown lines`` for results/<name>.json.

    ``runs`` is the list of stored runs (only the latest unless ``multi``);
    each run is a dict with ``label``, ``command``, ``started``, ``config``,
    ``load``, ``results`` and ``notes``. The heading, the provenance and load
    paragraph and each run's notes are written around it.
    """

    def register(render):
        PAGES[page].sections.append(Section(name, title, command, render, multi))
        return render

    return register


def plot(page, filename):
    """Register ``draw(data, path)``; ``data`` maps benchmark name -> runs."""

    def register(draw):
        PAGES[page].plots.append((filename, draw))
        return draw

    return register


# ---------------------------------------------------------------- helpers


def cap(text):
    return text[:1].upper() + text[1:]


def when(run):
    started = run.get("started") or "date not recorded"
    minutes = run.get("duration_min")
    return started + (f", {minutes:.1f} min" if minutes is not None else "")


def short_load(load):
    """A table cell: the load in a few characters, and its verdict."""
    if not load or load.get("source") in (None, "not recorded", "unavailable"):
        return "not recorded"
    verdict = load_verdict(load)
    if load.get("other_cores"):
        text = f"other jobs {load['other_cores']['mean']:.2f} cores"
    else:
        la = load["loadavg_1min"]
        if "first" in la:
            text = f"load avg {la['first']:.2f} -> {la['last']:.2f}"
        else:
            text = f"load avg {la['min']:.1f}-{la['max']:.1f}"
    return text + (f" ({verdict})" if verdict else "")


def notes_md(run, indent=""):
    return [f"{indent}- {note}" for note in run.get("notes") or []]


def provenance(runs):
    """Which run(s) produced a section, when, on what, under what load."""
    if len(runs) == 1:
        run = runs[0]
        md = [
            f"Measured by `{run['command']}` ({when(run)}) on "
            f"{describe_machine(run['machine'])}. {cap(describe_load(run['load']))}.",
            "",
        ]
        if run.get("notes"):
            md += ["Notes on this run:", "", *notes_md(run), ""]
        return md
    machines = sorted({describe_machine(run["machine"], False) for run in runs})
    threads = sorted({str(run["machine"].get("torch_threads")) for run in runs})
    md = [f"Machine: {machines[0]}.", ""] if len(machines) == 1 else []
    md += ["Runs:", ""]
    for run in runs:
        machine = run["machine"]
        if len(machines) > 1:
            where = f" on {describe_machine(machine)}"
        else:
            where = f", torch threads: {machine['torch_threads']}" * (len(threads) > 1)
        md.append(
            f"- *{run['label']}*: `{run['command']}` ({when(run)}){where}. "
            f"{cap(describe_load(run['load']))}."
        )
        md += notes_md(run, "  ")
    return md + [""]


def collapsed(summary, lines):
    """Markdown ``lines`` folded under ``summary`` (GitHub and MyST alike: the
    blank lines let the Markdown inside be parsed)."""
    return [
        "<details>",
        f"<summary>{summary}</summary>",
        "",
        *lines,
        "",
        "</details>",
        "",
    ]


def render_page(pg, data):
    """The Markdown text of a page, or None when none of its JSON exists."""
    present = [s for s in pg.sections if data.get(s.name)]
    if not present:
        return None
    sources = ", ".join(f"`results/{s.name}.json`" for s in present)
    md = [f"# {pg.title}", ""]
    if pg.summary is not None:
        md += pg.summary(data)
    if any(run["config"].get("quick") for s in present for run in data[s.name]):
        md += [
            "**Quick run** (`--quick`): small data and few epochs, for "
            "smoke-testing only. The numbers that count are in `benchmarks/`.",
            "",
        ]
    md += pg.intro
    for s in pg.sections:
        md += [f"## {s.title}", ""]
        runs = data.get(s.name)
        if not runs:
            md += [f"Not measured yet: `{s.command}`.", ""]
            continue
        shown = runs if s.multi else runs[-1:]  # multi: the tables name the runs
        md += s.render(shown)
        md += collapsed(
            "How this was measured: command, machine, load", provenance(shown)
        )
    for filename, _ in pg.plots:
        md += [f"![{Path(filename).stem}]({filename})", ""]
    md += [
        "## About this page",
        "",
        f"Generated by `python benchmarks/report.py` from {sources}: edit or "
        "remeasure those, not this file. Each section names, folded under it, the "
        "run that produced it (command, date, machine) and the machine's load "
        "measured while it ran.",
        "",
    ]
    return "\n".join(md).rstrip("\n") + "\n"


def load_data(directory):
    data = {}
    for path in sorted(results_dir(directory).glob("*.json")):
        if path.name.endswith(".partial.json"):  # a run still going: not results
            continue
        stored = read_json(path)
        if "runs" not in stored:  # another report's data (outlier_adbench.json)
            continue
        data[stored.get("benchmark", path.stem)] = stored["runs"]
    return data


def build(directory):
    """{path: Markdown text} and [(path, draw, data)] for every page with data."""
    directory = Path(directory)
    data = load_data(directory)
    texts, plots = {}, []
    for pg in PAGES.values():
        text = render_page(pg, data)
        if text is None:
            continue
        texts[directory / pg.filename] = text
        plots += [(directory / name, draw) for name, draw in pg.plots]
    return texts, plots, data
