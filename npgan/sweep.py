"""Sweeps: a preset's runs over seeds and a grid of hyperparameters, side by side on Dask.

    runs = grid points x seeds
    grid points = the Cartesian product of --grid key=v1,v2 ... (one point, the preset, without --grid)

Each run is an ordinary `npgan train` run directory (npgan.run.train_run with the standard
monitors of npgan.monitors: config.json, metrics.jsonl, checkpoint.npz, samples.png, curves.png, and for
image data best.npz and parzen.png), taken under its lock (npgan.runlock), then
evaluated on the worker and its result written beside it as result.json:

    toy presets:    VEEGAN's mode coverage of 2,500 samples (npgan.evaluate.modes; the noise
                    seed of `npgan evaluate modes`, so both give the same figures)
    stacked-mnist:  the modes reached of 1,000 and KL to uniform of 26,000 samples, as
                    `npgan evaluate modes` counts them (same seed, same figures), and the
                    run's training time
    other images:   the quick Parzen estimate on validation (npgan.evaluate.parzen.quick_parzen)

The sweep directory holds sweep.json (the record: the preset, the command, and every run's
name and configuration), results.csv and summary.md. A sweep into a directory that holds
another sweep is refused before anything is written: "the same sweep" means the same runs,
each with the same configuration (the same preset, seeds, grid and iterations; the order in
which --seeds and --grid list them, and --data-dir, do not matter). A directory from an npgan
before sweep.json counts as the same sweep if its results.csv lists the same runs.

A run that diverges or raises is recorded with its message (status "diverged" or
"error"); the others go on. A run whose result.json matches its configuration is not
run again, so re-running an interrupted sweep only does what is left; a run stopped
half-way continues from its checkpoint (as `npgan train --resume`). Runs that diverged
count as complete (they would diverge again, identically); runs that failed otherwise
("error": a lost worker, a lock held by another process) are tried again.

The runs are Dask tasks (run_one): on a LocalCluster of single-threaded worker
processes with BLAS pinned to one thread (local_cluster), or on the workers of any
scheduler the client connects to. Dask is imported only inside the functions that need
it: the rest of npgan works without it.
"""

import contextlib
import itertools
import json
import math
import os
import socket
import time

import numpy as np

from npgan.data import load_dataset
from npgan.evaluate.modes import (STACKED_NOTE, STACKED_ROWS, STACKED_SAMPLES, VEEGAN_NOTE, VEEGAN_ROWS,
                                  evaluate_stacked, evaluate_toy)
from npgan.fileio import atomic_write, open_regular, write_atomically
from npgan.runlock import read_json

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
NOT_IN_GRID = {"seed": "use --seeds", "preset": "one preset per sweep", "dataset": "one dataset per sweep",
               "iterations_per_epoch": "it follows from the dataset and batch_size"}
MODE_SAMPLES = 2500  # VEEGAN's protocol
MODE_SEED = 0        # the default --seed of `npgan evaluate modes`
MAX_RUNS = 10000
RESULT_NAME = "result.json"
SWEEP_RECORD = "sweep.json"
RECORD_FORMAT = 1
COMPLETE = ("ok", "diverged")

# -- the runs of a sweep ----------------------------------------------------------------------------

def parse_seeds(text):
    """"0-4" -> [0, 1, 2, 3, 4]; "0,2,7" and "0-2,5" as written. ValueError on anything else:
    a seed given twice, more than MAX_RUNS seeds (refused as soon as the count passes it).
    Linear in the number of seeds (a set of those seen)."""
    shown = text if len(text) <= 60 else f"{text[:40]}...{text[-12:]} ({len(text):,} characters)"
    seeds, seen = [], set()
    for part in text.split(","):
        part = part.strip()
        low, dash, high = part.partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            what = part if len(part) <= 30 else f"{part[:30]}..."
            raise ValueError(f"--seeds {shown}: expected seeds like 0-4 or 0,2,7, got {what!r}") from None
        if first < 0 or last < first:
            raise ValueError(f"--seeds {shown}: {part} is not a range of seeds >= 0 (low-high, low <= high)")
        if len(seeds) + (last - first + 1) > MAX_RUNS:
            raise ValueError(f"--seeds {shown}: more than {MAX_RUNS} seeds")
        for seed in range(first, last + 1):
            if seed in seen:
                raise ValueError(f"--seeds {shown}: seed {seed} is given twice")
            seen.add(seed)
        seeds.extend(range(first, last + 1))
    return seeds


def parse_grid(preset, items):
    """--grid items ["key=v1,v2", ...] -> {key: [value, ...]}, each value parsed as the type of
    the preset's own value for that key (int, float, string, None as "none", a list as
    [a,b,c]); ValueError naming the item. Ranges are checked later, per grid point."""
    from npgan.models import PRESETS

    defaults = PRESETS[preset]
    grid = {}
    for item in items:
        key, equals, values = item.partition("=")
        key = key.strip()
        if not equals or not key or not values.strip():
            raise ValueError(f"--grid {item}: expected key=value1,value2,...")
        if key in NOT_IN_GRID:
            raise ValueError(f"--grid {item}: {key} cannot be swept ({NOT_IN_GRID[key]})")
        if key not in defaults and key != "iterations":
            keys = ", ".join(sorted(name for name in defaults if name not in NOT_IN_GRID))
            raise ValueError(f"--grid {item}: {key!r} is not a configuration key of preset {preset}; "
                             f"the keys are: {keys}")
        if key in grid:
            raise ValueError(f"--grid {key} is given twice; list every value in one --grid {key}=v1,v2")
        parsed = [_parse_value(key, defaults.get(key), text.strip(), item) for text in _split_values(values)]
        labels = [value_label(value) for value in parsed]
        for label in labels:
            if labels.count(label) > 1:
                raise ValueError(f"--grid {item}: the value {label} is given twice")
        grid[key] = parsed
    return grid


def _split_values(text):
    """Split at the commas outside brackets: "[1,0.5],[1,1]" -> ["[1,0.5]", "[1,1]"]."""
    values, depth, start = [], 0, 0
    for index, character in enumerate(text):
        depth += {"[": 1, "]": -1}.get(character, 0)
        if character == "," and depth == 0:
            values.append(text[start:index])
            start = index + 1
    values.append(text[start:])
    return values


def _parse_value(key, default, text, item):
    def bad(what):
        return ValueError(f"--grid {item}: {key} takes {what}, got {text!r}")

    if not text:
        raise bad("a value between the commas")
    if isinstance(default, bool):
        raise bad("no grid (a flag)")
    if isinstance(default, (list, tuple)):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in value):
            raise bad("a list of numbers such as [128,128]")
        return value
    if isinstance(default, str):
        return text
    if isinstance(default, int) or key == "iterations":
        try:
            return int(text)
        except ValueError:
            raise bad("a whole number") from None
    if default is None and text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise bad("a number" + (" or none" if default is None else "")) from None
    if not math.isfinite(value):
        raise bad("a finite number")
    return value


def value_label(value):
    """A grid value as it appears in a directory name and in the tables: 128x128 for a list."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return str(value)


def grid_points(grid):
    """The Cartesian product of the grid, in the order given: a list of {key: value} dicts
    ([{}] for an empty grid)."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[key] for key in keys))]


def point_name(point):
    """The directory of a grid point: k_discriminator_steps=3_generator_loss=minimax ("" for no grid)."""
    return "_".join(f"{key}={value_label(value)}" for key, value in point.items())


def plan_runs(preset, seeds, grid, out, iterations=None, data_dir=None):
    """Every run of the sweep as a dict (name, run_dir, seed, point, config, data_dir), each
    configuration validated (ValueError naming the grid point) before anything runs."""
    from npgan.models import preset_config

    points = grid_points(grid)
    if len(points) * len(seeds) > MAX_RUNS:
        raise ValueError(f"the sweep has {len(points)} grid points x {len(seeds)} seeds = "
                         f"{len(points) * len(seeds)} runs, more than {MAX_RUNS}")
    runs = []
    for point in points:
        for seed in seeds:
            changes = dict(point)
            if iterations is not None and "iterations" not in point:
                changes["iterations"] = iterations
            try:
                config = preset_config(preset, seed=seed, **changes)
            except ValueError as error:
                where = f" at {point_name(point)}" if point else ""
                raise ValueError(f"preset {preset}{where}: {error}") from None
            name = os.path.join(point_name(point), f"seed-{seed}") if point else f"seed-{seed}"
            runs.append({"name": name, "run_dir": os.path.join(out, name), "seed": seed, "point": point,
                         "config": config, "data_dir": data_dir})
    return runs


def check_scheduler_address(address):
    """A Dask scheduler's address as --scheduler takes it (tcp://10.0.0.5:8786, or host:port):
    ValueError unless its scheme is one Dask knows and a host and port are there."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    expected = "expected an address like tcp://10.0.0.5:8786"
    if not address.strip():
        raise ValueError(f"--scheduler is empty; {expected}")
    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
    except ValueError as error:
        raise ValueError(f"--scheduler {address}: {error}; {expected}") from None
    if scheme in ("tcp", "tls", "ws", "wss"):
        try:
            host, port = parse_host_port(location)
        except ValueError:
            host, port = "", None
        if not host or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"--scheduler {address}: no host and port (1-65535) in it; {expected}")


def check_sweep_directory(out, runs):
    """Refuse (ValueError) a sweep directory that holds another sweep, whose results.csv and
    summary.md this one would replace. The same sweep (resumed) is the same runs with the same
    configurations: sweep.json's record; for a directory without one (an npgan before it),
    the run names of its results.csv."""
    record_path = os.path.join(out, SWEEP_RECORD)
    results_path = os.path.join(out, "results.csv")
    planned = _planned(runs)
    if os.path.lexists(record_path):
        record = read_json(record_path)
        if not (isinstance(record, dict) and isinstance(record.get("runs"), dict)):
            raise ValueError(f"{record_path} is damaged (not a sweep record); sweep into another --out, or delete "
                             f"{out} if its sweep is of no use")
        if record["runs"] == planned:
            return
        theirs = record["runs"]
        command = record.get("command")
        what = f"the sweep of `{command}`" if isinstance(command, str) else f"another sweep ({len(theirs)} runs)"
        raise ValueError(f"{out} holds {what}: {_difference(theirs, planned)}; this sweep would replace its "
                         "results.csv and summary.md: sweep into another --out (or run that command to resume it)")
    if os.path.lexists(results_path):
        names = _result_names(results_path)
        if names is not None and set(names) == set(planned) and len(names) == len(planned):
            return
        theirs = {name: None for name in (names or [])}
        why = _difference(theirs, planned) if names is not None else "npgan cannot read its run names"
        raise ValueError(f"{out} holds the results.csv of another sweep ({why}); this sweep would replace it and "
                         "summary.md: sweep into another --out")
    if os.path.lexists(os.path.join(out, "summary.md")):
        raise ValueError(f"{out} holds a summary.md but no results.csv: npgan cannot tell which sweep it is of; "
                         "sweep into another --out")


def write_sweep_record(out, preset, runs, command):
    """Write <out>/sweep.json, the record check_sweep_directory compares with (unless it
    already holds exactly this record's runs). OSError if it cannot be written."""
    path = os.path.join(out, SWEEP_RECORD)
    planned = _planned(runs)
    saved = read_json(path)
    if isinstance(saved, dict) and saved.get("runs") == planned:
        return
    record = {"format": RECORD_FORMAT, "preset": preset, "command": command, "runs": planned}
    write_atomically(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def _planned(runs):
    """The identity of a sweep: {run name: its configuration, as JSON keeps it}."""
    return {run["name"]: _normalised(run["config"]) for run in runs}


def _difference(theirs, ours):
    """What tells two sweeps apart, in a few words: runs only in one, or configurations."""
    only_theirs = sorted(set(theirs) - set(ours))
    only_ours = sorted(set(ours) - set(theirs))
    if only_theirs or only_ours:
        def runs(names):
            listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            return f"run {listed} is" if len(names) == 1 else f"runs {listed} are"
        parts = ([f"its {runs(only_theirs)} not in this sweep"] if only_theirs else []) + \
                ([f"this sweep's {runs(only_ours)} not in it"] if only_ours else [])
        return ", ".join(parts)
    for name in sorted(ours):
        if isinstance(theirs[name], dict) and theirs[name] != ours[name]:
            keys = sorted(key for key in set(theirs[name]) | set(ours[name])
                          if theirs[name].get(key) != ours[name].get(key))
            return f"run {name} has another configuration ({', '.join(keys)} differ)"
    return "the runs differ"


def _result_names(path):
    """The run column of a results.csv; None if it cannot be read as one."""
    import csv

    try:
        with open_regular(path, newline="") as handle:  # a FIFO there: unreadable, not a hang
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows or not rows[0] or rows[0][0] != "run":
        return None
    return [row[0] for row in rows[1:] if row]


def finished_result(run):
    """The run's result.json if it is complete and for this configuration; None if the run
    is still to do. ValueError if its directory holds a run of another configuration."""
    config_path = os.path.join(run["run_dir"], "config.json")
    expected = _normalised(run["config"])
    for path in (os.path.join(run["run_dir"], RESULT_NAME), config_path):
        saved = read_json(path)
        if not isinstance(saved, dict):
            continue  # missing, or torn by a crash: the run is done again
        saved_config = saved if path == config_path else saved.get("config")
        saved_config = _normalised(saved_config) if isinstance(saved_config, dict) else {}
        if saved_config != expected:
            different = sorted(key for key in set(saved_config) | set(expected)
                               if saved_config.get(key) != expected.get(key))
            raise ValueError(f"{run['run_dir']} holds a run of another configuration ({', '.join(different)} "
                             "differ); sweep into another --out, or delete it")
        if path != config_path and saved.get("status") in COMPLETE and _has_metrics(saved, run["config"]):
            return saved
    return None


def _has_metrics(result, config):
    """Whether ``result`` holds every metric the sweep now reports (an "ok" result of an older npgan
    lacking one is evaluated again, from the run's checkpoint, without training)."""
    metrics = result.get("metrics")
    return result["status"] != "ok" or (isinstance(metrics, dict) and set(metric_names(config)) <= set(metrics))


def _normalised(value):
    return json.loads(json.dumps(value, sort_keys=True))


# -- one run, on a worker -------------------------------------------------------------------------

def run_one(run):
    """Train and evaluate one run of plan_runs (a Dask task; also callable directly).

    Continues from the run's checkpoint if one is there. Returns the result (also written
    to <run_dir>/result.json): status "ok" with its metrics, "diverged" or "error" with a
    message. Never raises for a failure of the run itself.
    """
    from npgan.restore import read_checkpoint
    from npgan.monitors import standard_monitors
    from npgan.run import train_run
    from npgan.runlock import RunLock, RunLocked
    from npgan.train import Trainer, TrainingDiverged

    config, run_dir = run["config"], run["run_dir"]
    started = time.perf_counter()
    result = {"name": run["name"], "seed": run["seed"], "point": run["point"], "config": config,
              "status": "ok", "message": "", "metrics": {}, "host": socket.gethostname(), "pid": os.getpid(),
              "blas_threads": {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}}
    lock = RunLock(run_dir)
    try:
        lock.acquire()
    except (RunLocked, OSError) as error:
        return {**result, "status": "error", "message": str(error), "seconds": 0.0}
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # the trainer names a NaN or inf itself
            dataset = load_dataset(config["dataset"], run["data_dir"])
            checkpoint_path = os.path.join(run_dir, "checkpoint.npz")
            if os.path.exists(checkpoint_path):
                trainer = Trainer.from_checkpoint(read_checkpoint(checkpoint_path), dataset,
                                                  iterations=config["iterations"])
                if _normalised(trainer.config) != _normalised(config):
                    raise ValueError(f"{checkpoint_path} is a checkpoint of another configuration; delete "
                                     f"{run_dir} to run it again")
            else:
                trainer = Trainer(config, dataset)
            if trainer.iteration < config["iterations"]:
                train_run(trainer, run_dir, monitors=standard_monitors(dataset))
            result["metrics"] = evaluate_run(trainer, dataset)
    except TrainingDiverged as error:
        result.update(status="diverged", message=str(error))
    except Exception as error:  # recorded, not raised: one bad run must not stop the sweep
        result.update(status="error", message=f"{type(error).__name__}: {error}")
    result["seconds"] = round(time.perf_counter() - started, 3)
    try:
        write_atomically(os.path.join(run_dir, RESULT_NAME), json.dumps(result, indent=1, sort_keys=True))
    finally:
        lock.release()
    return result


def evaluate_run(trainer, dataset):
    """The sweep's metrics of a trained run: mode coverage (toys), the Stacked MNIST mode count
    with the training time, or the quick Parzen estimate."""
    from npgan.data.toy import ToyDistribution
    from npgan.evaluate.classifier import shipped_classifier
    from npgan.evaluate.parzen import quick_parzen

    if isinstance(dataset, ToyDistribution):
        coverage = evaluate_toy(trainer.sample(MODE_SAMPLES, np.random.default_rng(MODE_SEED)), dataset)
        return {"modes_captured": coverage.modes_captured, "num_modes": dataset.num_modes,
                "high_quality_percent": 100 * coverage.high_quality_fraction}
    if trainer.config["dataset"] == "stacked-mnist":
        coverage = evaluate_stacked(trainer.model, shipped_classifier("mnist"),
                                    STACKED_SAMPLES, np.random.default_rng(MODE_SEED))
        return {"modes_captured": coverage.modes_captured, "num_modes": coverage.num_modes,
                "kl_to_uniform": coverage.kl_to_uniform, "training_seconds": trainer.elapsed_seconds}
    parzen = quick_parzen(trainer.model, trainer.config, dataset)
    return {"parzen_quick": parzen.test_log_likelihood, "parzen_quick_standard_error": parzen.standard_error}


def metric_names(config):
    """The metric columns of a sweep of this configuration's dataset."""
    from npgan.data.mnist import IMAGE_DATASETS

    if config["dataset"] == "stacked-mnist":
        return ["modes_captured", "num_modes", "kl_to_uniform", "training_seconds"]
    if config["dataset"] in IMAGE_DATASETS:
        return ["parzen_quick", "parzen_quick_standard_error"]
    return ["modes_captured", "num_modes", "high_quality_percent"]


def blas_environment():
    """The BLAS / OpenMP / Numba thread variables of this process (run on a worker to check it)."""
    return {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}


# -- the cluster ----------------------------------------------------------------------------------

@contextlib.contextmanager
def local_cluster(workers):
    """A dask.distributed LocalCluster of ``workers`` single-threaded worker processes on
    127.0.0.1, each started with OPENBLAS/OMP/MKL/NUMBA_NUM_THREADS=1 (set before the
    process starts, so before numpy loads: Dask's pre-spawn environment), so that the runs
    do not fight over the cores. Yields the cluster."""
    import logging

    import dask
    from distributed import LocalCluster

    pinned = {name: "1" for name in BLAS_THREAD_VARIABLES}
    saved = {name: os.environ.get(name) for name in pinned}
    os.environ.update(pinned)  # Dask's pre-spawn environment gives the OS's values precedence
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": pinned}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=":0", silence_logs=logging.ERROR)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield cluster
    finally:
        cluster.close()


def run_sweep(runs, client, *, on_result=None):
    """Submit every run to ``client`` (a distributed.Client); return their results in the
    order of ``runs``. A task that fails outside run_one (a worker lost, say) gives an
    "error" result. on_result: an optional callable(result) per finished run."""
    from distributed import as_completed

    futures = {client.submit(run_one, run, pure=False, key=f"npgan-run-{index}-{run['name']}"): index
               for index, run in enumerate(runs)}
    results = [None] * len(runs)
    for future in as_completed(futures):
        index = futures[future]
        try:
            result = future.result()
        except Exception as error:
            run = runs[index]
            result = {"name": run["name"], "seed": run["seed"], "point": run["point"], "config": run["config"],
                      "status": "error", "message": f"{type(error).__name__}: {error}", "metrics": {},
                      "seconds": None}
        results[index] = result
        if on_result is not None:
            on_result(result)
    return results


# -- results.csv and summary.md ---------------------------------------------------------------------

def write_results_csv(path, runs, results):
    """One row per run: name, seed, the grid values, status, the metrics, iterations, seconds, message."""
    import csv

    keys = list(runs[0]["point"]) if runs else []
    metrics = metric_names(runs[0]["config"]) if runs else []
    columns = ["run", "seed", *keys, "status", *metrics, "iterations", "seconds", "message"]
    with atomic_write(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for run, result in zip(runs, results):
            writer.writerow([run["name"], run["seed"], *(value_label(run["point"][key]) for key in keys),
                             result["status"], *(_cell(result["metrics"].get(name)) for name in metrics),
                             run["config"]["iterations"], _cell(result.get("seconds")), result["message"]])


def _cell(value):
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def summarise(runs, results):
    """One row per grid point: {"point", "runs", "ok", "failed" (status counts), and per metric
    (mean, std over the seeds that finished; std with ddof=0, as the VEEGAN table's 5 runs)}."""
    metrics = metric_names(runs[0]["config"])
    rows = {}
    for run, result in zip(runs, results):
        row = rows.setdefault(point_name(run["point"]), {"point": run["point"], "runs": 0, "ok": 0, "failed": {},
                                                         "values": {name: [] for name in metrics}})
        row["runs"] += 1
        if result["status"] == "ok":
            row["ok"] += 1
            for name in metrics:
                row["values"][name].append(result["metrics"][name])
        else:
            row["failed"][result["status"]] = row["failed"].get(result["status"], 0) + 1
    summary = []
    for row in rows.values():
        values = row.pop("values")
        row["metrics"] = {name: (float(np.mean(v)), float(np.std(v))) if v else None for name, v in values.items()}
        summary.append(row)
    return summary


def summary_markdown(preset, runs, summary, command=None):
    """summary.md: the published table's form (docs/paper.md), one row per grid point, mean +- std
    over the seeds, with the published rows above: VEEGAN's for ring8 and grid25, VEEGAN's and
    PacGAN's for stacked-mnist (with the training time of npgan's runs)."""
    config, keys = runs[0]["config"], list(runs[0]["point"])
    metrics = metric_names(config)
    seeds = sorted({run["seed"] for run in runs})
    lines = [f"# npgan sweep: {preset}, {len(seeds)} seeds ({_seed_text(seeds)}), "
             f"{len(summary)} grid point{'s' if len(summary) != 1 else ''}", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    if "kl_to_uniform" in metrics:  # stacked-mnist; columns: (metric, title, scale, decimals)
        columns = [("modes_captured", "modes (of 1,000)", 1, 1), ("kl_to_uniform", "KL to uniform", 1, 2),
                   ("training_seconds", "training minutes", 1 / 60, 1)]
        published = [(name, "", f"{modes:g}", f"{kl:.2f}", "") for name, modes, kl in STACKED_ROWS]
        what = ("modes reached and KL(mode histogram || uniform) of 26,000 samples, each channel read by npgan's "
                "MNIST classifier (`npgan evaluate modes`); training minutes: the run's wall clock, its per-epoch "
                "monitors (quick Parzen estimate, samples, curves, checkpoints) included, on one worker (the local "
                "cluster's are single-threaded).")
        notes = [STACKED_NOTE]
    elif "high_quality_percent" in metrics:  # the toys
        columns = [("modes_captured", f"{config['dataset']} modes", 1, 1),
                   ("high_quality_percent", f"{config['dataset']} % high quality", 1, 1)]
        published = [(f"{name} (VEEGAN table)", "5", str(modes), str(high_quality))
                     for name, modes, high_quality in VEEGAN_ROWS.get(config["dataset"], [])]
        what = "modes captured and % high quality of 2,500 samples (VEEGAN's metric)."
        notes = [VEEGAN_NOTE] if published else []
    else:
        columns, published, notes = [("parzen_quick", "quick Parzen (validation, nats)", 1, 1)], [], []
        what = "the quick Parzen estimate of npgan.evaluate.parzen.quick_parzen (a trend, not Table 1's figure)."
    header = ["model", *keys, "runs", *(column[1] for column in columns)]
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, runs_cell, *values in published:  # (model, runs, metric cells)
        lines.append("| " + " | ".join([name, *[""] * len(keys), runs_cell, *values]) + " |")
    for row in summary:
        failed = ", ".join(f"{count} {status}" for status, count in sorted(row["failed"].items()))
        runs_cell = f"{row['ok']} of {row['runs']}" + (f" ({failed})" if failed else "")
        cells = [f"npgan, {preset}", *(value_label(row["point"][key]) for key in keys), runs_cell]
        for name, _, scale, decimals in columns:
            value = row["metrics"][name]
            cells.append("" if value is None else f"{value[0] * scale:.{decimals}f} ± {value[1] * scale:.{decimals}f}")
        lines.append("| " + " | ".join(cells) + " |")
    iterations = sorted({run["config"]["iterations"] for run in runs})
    lines += ["", f"{', '.join(map(str, iterations))} iterations per run; mean ± std (ddof 0) over the seeds that "
              "finished; " + what]
    for note in notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _seed_text(seeds):
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))
