"""What the benchmark scripts share: run records, load sampling, data, tables.

A measuring script wraps its work in :class:`Measurement`, which samples the
machine's load in a background thread while it runs and then stores one *run
record* in ``<out>/results/<name>.json``::

    {"benchmark": name, "runs": [run, ...]}

    run = {"label", "command", "started", "duration_min", "machine", "config",
           "load", "results", "notes"}

A new run replaces the stored run with the same label and leaves the others
(several labels serve reports that compare runs, e.g. with different
arguments). ``report.py`` turns these files into Markdown and plots; nothing
here imports torch or skvae at module level, so the report needs neither.
"""

import functools
import json
import os
import platform
import shlex
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
QUICK_DIR = HERE / "quick"
SCHEMA = 1


def log(*args):
    print(*args, flush=True)


def median(values):
    return float(np.median(values))


# ------------------------------------------------------------------ tables


def mean_sd(values, digits=3):
    """``mean ± sd`` (ddof=1) of the finite values; the value alone if one,
    ``-`` if none."""
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def md_table(header, rows):
    """A Markdown table; cells are str()-ed."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


# -------------------------------------------------------------------- JSON


def to_jsonable(obj):
    """dict keys to str, tuples to lists, numpy scalars and arrays to Python."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(obj), indent=1) + "\n")


def read_json(path):
    return json.loads(Path(path).read_text())


def results_dir(out_dir):
    return Path(out_dir) / "results"


def save_run(out_dir, name, run):
    """Store ``run`` in ``<out_dir>/results/<name>.json``, replacing its label."""
    path = results_dir(out_dir) / f"{name}.json"
    data = read_json(path) if path.exists() else {"benchmark": name, "runs": []}
    data["schema"] = SCHEMA
    runs = data["runs"]
    for i, old in enumerate(runs):
        if old.get("label") == run["label"]:
            runs[i] = run
            break
    else:
        runs.append(run)
    write_json(path, data)
    return path


def default_out_dir(quick):
    """Full runs write into benchmarks/, --quick runs into benchmarks/quick/."""
    return QUICK_DIR if quick else HERE


# ----------------------------------------------------------------- machine


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _version(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    return getattr(module, "__version__", None)


def machine_facts():
    """The machine and software a run measured on (call after setting threads)."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "gpu": gpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "skorch": _version("skorch"),
        "sklearn": _version("sklearn"),
        "joblib": _version("joblib"),
        "skvae": _version("skvae"),
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }


def describe_machine(machine, threads=True):
    """One sentence: CPU, cores, GPU, versions (and torch threads)."""
    cpu = machine.get("cpu")
    parts = [
        f"{cpu + ', ' if cpu else ''}{machine.get('arch', '?')}, "
        f"{machine.get('cores', '?')} CPU cores, "
        + (f"GPU {machine['gpu']}" if machine.get("gpu") else "no GPU")
    ]
    versions = [
        f"{label} {machine[key]}"
        for key, label in (
            ("python", "Python"),
            ("torch", "torch"),
            ("skorch", "skorch"),
            ("sklearn", "scikit-learn"),
            ("joblib", "joblib"),
            ("skvae", "skvae"),
        )
        if machine.get(key)
    ]
    if versions:
        parts.append(", ".join(versions))
    if threads and machine.get("torch_threads") is not None:
        parts.append(f"torch threads: {machine['torch_threads']}")
    return "; ".join(parts)


# -------------------------------------------------------------------- load


def _read_proc_stat():
    """(busy, total) jiffies of all CPUs together, and the number of CPUs."""
    with open("/proc/stat") as f:
        lines = f.readlines()
    # user nice system idle iowait irq softirq steal (guest is inside user)
    values = [int(v) for v in lines[0].split()[1:9]]
    n_cpus = sum(1 for line in lines if line.startswith("cpu") and line[3].isdigit())
    total = sum(values)
    return total - values[3] - values[4], total, n_cpus


def _own_tree_jiffies(root, foreign):
    """CPU jiffies (utime + stime) of ``root`` and each of its descendants.

    ``foreign`` (a set, updated here) holds the pids found outside the tree
    before; they are not read again while they live, since a process never
    becomes a child of ours later. That keeps a sample to a few file reads.
    """
    parent, cpu, alive = {}, {}, set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        alive.add(pid)
        if pid in foreign:
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
        except OSError:  # the process ended meanwhile
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        parent[pid] = int(fields[1])
        cpu[pid] = int(fields[11]) + int(fields[12])
    children = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    own, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in cpu:
            own[pid] = cpu[pid]
            stack.extend(children.get(pid, ()))
    foreign.intersection_update(alive)  # a dead pid may come back as ours
    foreign.update(pid for pid in parent if pid not in own)
    return own


def _stats(values, *keys):
    a = np.asarray(values, dtype=float)
    funcs = {
        "min": np.min,
        "mean": np.mean,
        "p90": lambda v: np.percentile(v, 90),
        "max": np.max,
    }
    out = {k: round(float(funcs[k](a)), 3) for k in keys}
    return out


class LoadSampler:
    """Samples the machine's load every ``interval`` seconds in a thread.

    Two measures, both on Linux:

    - the 1-minute load average (``os.getloadavg``), which counts this run's
      own busy threads too and lags by about a minute;
    - the CPU used by *other* processes in each interval, in cores: all CPUs'
      busy time from ``/proc/stat`` minus the CPU time of this process and its
      descendants (loky workers, subprocesses) from ``/proc/<pid>/stat``.

    Elsewhere only the load average is kept (or nothing, where there is none).
    A sample costs well under a millisecond of CPU once the other processes
    are known (the first reads every ``/proc/<pid>/stat``).
    """

    def __init__(self, interval=1.0):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None
        self.loadavg, self.other, self.own = [], [], []
        self.cores = os.cpu_count()
        self._proc = Path("/proc/stat").exists()

    def _sample(self):
        try:
            self.loadavg.append(os.getloadavg()[0])
        except (AttributeError, OSError):
            pass
        if not self._proc:
            return
        try:
            busy, total, n_cpus = _read_proc_stat()
            own = _own_tree_jiffies(os.getpid(), self._foreign)
        except (OSError, ValueError, IndexError):
            self._proc = False
            return
        if self._last is not None:
            last_busy, last_total, last_own = self._last
            d_total = total - last_total
            if d_total > 0:
                d_own = sum(v - last_own.get(pid, 0) for pid, v in own.items())
                d_other = max(busy - last_busy - d_own, 0)
                self.other.append(n_cpus * d_other / d_total)
                self.own.append(n_cpus * min(d_own, d_total) / d_total)
        self.cores = n_cpus
        self._last = (busy, total, own)

    def _loop(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self):
        self._last = None
        self._foreign = set()
        self._t0 = time.monotonic()
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop sampling; return the summary stored in a run's ``load``."""
        self._stop.set()
        self._thread.join()
        self._sample()
        out = {
            "source": "sampled",
            "interval_s": self.interval,
            "duration_s": round(time.monotonic() - self._t0, 1),
            "cores": self.cores,
            "n_samples": len(self.loadavg),
        }
        if self.loadavg:
            out["loadavg_1min"] = _stats(self.loadavg, "min", "mean", "max")
        if self.other:
            out["other_cores"] = _stats(self.other, "mean", "p90", "max")
            out["own_cores"] = _stats(self.own, "mean", "max")
        if not self.loadavg and not self.other:
            out["source"] = "unavailable"
        return out


def load_verdict(load):
    """'quiet', 'light' or 'busy' from a load summary; None if it cannot say."""
    cores = load.get("cores") or os.cpu_count()
    other = load.get("other_cores")
    if other:
        own = load.get("own_cores", {}).get("mean", 0.0)
        if other["mean"] <= 0.1 * cores and other["p90"] <= 0.25 * cores:
            return "quiet"
        if other["mean"] + own > 0.85 * cores:
            return "busy"
        return "light"
    la = load.get("loadavg_1min")
    if la and "first" in la:  # read before the run started: others' load only
        if la["first"] <= 0.5 * cores:
            return "quiet"
        return "busy" if la["first"] >= cores else "light"
    if la:  # read during the run: this run's own threads are in it
        if la["max"] <= 0.5 * cores:
            return "quiet"
        if la["min"] >= cores:
            return "busy"
        return "light"
    return None


VERDICT_TEXT = {
    "quiet": "quiet",
    "light": "light: other jobs ran beside it without filling the cores, "
    "timings slightly noisy",
    "busy": "busy: other jobs were running, timings are noisy",
}


def _range(stats):
    lo, hi = f"{stats['min']:.1f}", f"{stats['max']:.1f}"
    return lo if lo == hi else f"{lo}-{hi}"


def describe_load(load):
    """The load statement of a report (lower-case phrase), from what was measured.

    A run recorded before load sampling has ``{"source": "not recorded",
    "note": ...}``; one whose load average was only read before and after (or
    by hand) has ``"source": "before/after"``.
    """
    source = (load or {}).get("source")
    if source in (None, "not recorded"):
        note = (load or {}).get("note", "the machine was shared with other jobs")
        return f"load not recorded (run before load recording; {note})"
    if source == "unavailable":
        return "load not measured (no load average or /proc on this platform)"
    cores = load.get("cores", "?")
    verdict = load_verdict(load)
    tail = f" — {VERDICT_TEXT[verdict]}" if verdict else ""
    note = f" ({load['note']})" if load.get("note") else ""
    la = load.get("loadavg_1min")
    if source == "before/after":
        if "first" in la:
            text = (
                f"1-min load average {la['first']:.2f} before, {la['last']:.2f} "
                f"after, on {cores} cores (read before and after the run only)"
            )
        else:
            text = (
                f"1-min load average {_range(la)} on {cores} cores (read during "
                "the run)"
            )
        return text + note + tail
    minutes = load["duration_s"] / 60
    span = f"{minutes:.1f} min" if minutes >= 1 else f"{load['duration_s']:.0f} s"
    parts = []
    if la:
        own = load.get("own_cores")
        parts.append(
            f"1-min load average {_range(la)} on {cores} cores"
            + (f" (this run's own {own['mean']:.1f} included)" if own else "")
        )
    other = load.get("other_cores")
    if other:
        parts.append(
            f"other processes used {other['mean']:.2f} cores on average "
            f"(90th percentile {other['p90']:.2f}, max {other['max']:.2f})"
        )
    head = f"load sampled every {load['interval_s']:g} s for {span}"
    return f"{head}: {', '.join(parts)}{note}{tail}"


# --------------------------------------------------------------- recording


def command_line():
    """The command that started this process, as a user would type it."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(HERE.parent)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])


class Measurement:
    """Time a benchmark, sample the load meanwhile, and store its run record.

    Usage::

        with Measurement("imputation", out_dir=out, config=cfg) as m:
            m.results["rmse"] = ...
        # on a clean exit: <out>/results/imputation.json holds the run

    ``results`` (a dict) is what the report reads; ``config`` records the
    settings it ran with; ``label`` names the run among others of the same
    benchmark (default ``"default"``); ``notes`` are sentences a person adds
    about this run (``--note``), printed under its section. Nothing is written
    if the block raises.
    """

    def __init__(
        self,
        name,
        *,
        out_dir,
        config=None,
        label="default",
        command=None,
        notes=(),
        interval=1.0,
    ):
        self.name = name
        self.out_dir = Path(out_dir)
        self.config = dict(config or {})
        self.label = label
        self.command = command or command_line()
        self.notes = list(notes)
        self.results = {}
        self.sampler = LoadSampler(interval)
        self.path = None

    def __enter__(self):
        self.machine = machine_facts()
        self.started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        self._t0 = time.perf_counter()
        self.sampler.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        load = self.sampler.stop()
        if exc_type is not None:
            return False
        run = {
            "label": self.label,
            "command": self.command,
            "started": self.started,
            "duration_min": round((time.perf_counter() - self._t0) / 60, 2),
            "machine": self.machine,
            "config": self.config,
            "load": load,
            "results": self.results,
            "notes": self.notes,
        }
        self.path = save_run(self.out_dir, self.name, run)
        log(f"[{self.name}: {run['duration_min']:.1f} min; {describe_load(load)}]")
        log(f"wrote {self.path}")
        return False


# -------------------------------------------------------------------- data


def digits_unit():
    """sklearn digits scaled to [0, 1], float32."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def dequantized_digits(seed=0):
    """Digits as ``(pixel + U(0, 1)) / 17``, split 75/25 (random_state=0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(seed)
    Xd = (X + rng.uniform(size=X.shape)) / 17
    return train_test_split(Xd, y, test_size=0.25, random_state=0)


def has_fashion_mnist():
    from skvae.datasets import has_fashion_mnist as has

    return has()


def fmnist_binary(n_train=None, n_test=None):
    """Fashion-MNIST pixels > 0.5 as float32: Xtr, ytr, Xte, yte (first rows)."""
    from skvae.datasets import load_fashion_mnist

    Xtr, ytr = load_fashion_mnist("train")
    Xte, yte = load_fashion_mnist("test")
    Xtr = (Xtr[:n_train] > 0.5).astype(np.float32)
    Xte = (Xte[:n_test] > 0.5).astype(np.float32)
    return Xtr, ytr[:n_train], Xte, yte[:n_test]


def fixed_epochs(**params):
    """VAETransformer that trains exactly max_iter epochs at its constant
    ``learning_rate`` (no stopping rule), as ``bare_vae.train`` does.

    0.3's ``fit`` schedule is turned off for the comparison with the bare
    loop: iterations of at least 16 steps (here one epoch each), the step
    size's warm-up and plateau rule, and the moving average of the weights.
    Measures the wrapper's overhead, not the schedule (bench_speed.py times
    the defaults).
    """
    vae_class = _fixed_epochs_class()
    return vae_class(n_iter_no_change=10**6, early_stopping=False, **params)


@functools.cache
def _fixed_epochs_class():
    import dataclasses

    from skvae import VAETransformer

    class FixedEpochsVAE(VAETransformer):
        """VAETransformer whose ``fit`` trains plain epochs (``fixed_epochs``)."""

        def _plan(self, n_rows, method, fresh=True):
            return dataclasses.replace(
                super()._plan(n_rows, method, fresh),
                epochs_per_iter=1,
                adaptive_learning_rate=False,
                warmup_steps=0,
                average_weights=False,
            )

    return FixedEpochsVAE


# --------------------------------------------------------------------- CLI


def add_common_args(parser, label=False):
    """--quick, --out, --note, --no-report (and --label) for a measuring script."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, into benchmarks/quick/ (smoke test, not results)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write OUT/results/<name>.json and the reports in OUT "
        "(default: benchmarks/, or benchmarks/quick/ with --quick)",
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a sentence about this run, printed with it in the report (repeatable)",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="only measure (write the JSON)"
    )
    if label:
        parser.add_argument(
            "--label",
            default=None,
            help="name of this run in the report; replaces a stored run of the "
            "same label (default: from the arguments)",
        )


def apply_quick(args, parser, quick_values):
    """With --quick, replace the arguments left at their defaults."""
    if args.quick:
        for key, value in quick_values.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    return args


def out_dir_of(args):
    return args.out or default_out_dir(args.quick)


def write_reports(args):
    """Regenerate the reports of the run's directory, unless --no-report."""
    if args.no_report:
        return
    import report

    report.main(["--dir", str(out_dir_of(args))])
