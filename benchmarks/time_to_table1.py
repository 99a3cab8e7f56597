"""Time to Table 1: how long a preset trains, from scratch, before its G reaches the paper's
number on MNIST (a full Parzen estimate >= 225 on the test set).

    python benchmarks/time_to_table1.py --preset mnist-fast --seeds 0 1 2 --data-dir DIR \
        --json benchmarks/results/time-to-table1.json --out runs/time-to-table1

For each seed: train the preset from scratch in a fresh child process of its own, with every
core (so that nothing a seed leaves in the process times the next: run one after the other in
one process, seeds 1 and 2 took 20-30% longer an epoch than seed 0, and a fresh process right
after ran at seed 0's pace), and after each epoch stop the training clock and evaluate G (the
averaged G where the preset keeps one):

    stopping estimate (validation only): 10,000 samples of G as Parzen centres (noise seed 0),
        sigma chosen on validation images 0..999, the mean log-likelihood of validation images
        1,000..--validation-rows-1 at that sigma. Training stops at the first epoch where it
        reaches --threshold (225), or after --max-minutes of training. (--evaluate-every N
        estimates every N iterations instead; the report's epochs are then fractions.)
    the test curve (reported, never used to decide): every --curve-every epochs and at the
        stop, the full Table 1 procedure on the same centres (sigma on validation 0..999, the
        mean over all 10,000 test images), as `npgan evaluate parzen --checkpoint C` prints it
        for the checkpoint saved at the stop.

The training clock runs only while Algorithm 1 runs: sampling and the estimates are timed
apart (evaluation_seconds). The result is the training time at the stop, with the test
estimate there; a seed whose stop is below 225 on test is reported as it is. The real-data
reference (10,000 training images as centres) is measured once, on the same images.
With --out, each seed's stop is saved as DIR/seed-N/checkpoint.npz (npgan export, npgan
figure 2 and 3 take it). With --figure, the curves (test estimate against training minutes) are
drawn beside mnist-tuned's and paper-mnist's committed curves (benchmarks/results/*-parzen.json,
by epoch), whose epochs become minutes at the seconds per epoch measured here (the same model,
batch and averaging work per epoch); --from-json redraws the figure from a report alone:

    python benchmarks/time_to_table1.py --from-json benchmarks/results/time-to-table1.json \
        --figure benchmarks/figures/time-to-table1.png
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchlib import add_mnist_argument, mnist_directory, report_head, write_json

from npgan.data.mnist import load_image_dataset
from npgan.evaluate.parzen import evaluate_parzen
from npgan.models import PRESETS, preset_config
from npgan.train import Trainer, TrainingDiverged

CENTRES = 10000
SIGMA_ROWS = 1000  # validation images 0..999 choose sigma, as in the full procedure
TABLE1 = 225.0


def estimates(centres, validation, test):
    """(stopping estimate on validation rows SIGMA_ROWS.., full test estimate or None)."""
    stopping = evaluate_parzen(centres, validation[:SIGMA_ROWS], validation[SIGMA_ROWS:], n_validation=SIGMA_ROWS,
                               matmul_dtype=np.float32, test_split=f"validation[{SIGMA_ROWS}:]")
    full = None if test is None else evaluate_parzen(centres, validation[:SIGMA_ROWS], test, n_validation=SIGMA_ROWS)
    return stopping, full


def train_seed(preset, seed, dataset, validation, test, arguments):
    config = preset_config(preset, seed=seed)
    trainer = Trainer(config, dataset)
    per_epoch = config["iterations_per_epoch"]
    every = arguments.evaluate_every or per_epoch
    training_seconds = evaluation_seconds = 0.0
    curve, stop = [], None
    while trainer.iteration < config["iterations"] and training_seconds < arguments.max_minutes * 60:
        started = time.perf_counter()
        for _ in range(min(every, config["iterations"] - trainer.iteration)):
            trainer.train_iteration()
        training_seconds += time.perf_counter() - started
        started = time.perf_counter()
        epoch = trainer.iteration / per_epoch
        epoch = int(epoch) if epoch.is_integer() else round(epoch, 3)
        centres = trainer.sample(CENTRES, np.random.default_rng(0))
        stopping, full = estimates(centres, validation, None)
        reached = stopping.test_log_likelihood >= arguments.threshold
        if reached or trainer.iteration % (arguments.curve_every * per_epoch) == 0:
            full = evaluate_parzen(centres, validation[:SIGMA_ROWS], test, n_validation=SIGMA_ROWS)
        evaluation_seconds += time.perf_counter() - started
        point = {"epoch": epoch, "training_minutes": round(training_seconds / 60, 3),
                 "stopping_estimate": round(stopping.test_log_likelihood, 2),
                 "test": None if full is None else round(full.test_log_likelihood, 2),
                 "test_standard_error": None if full is None else round(full.standard_error, 2),
                 "sigma": None if full is None else full.sigma}
        curve.append(point)
        print(f"  seed {seed} epoch {epoch:5g}  {training_seconds / 60:6.2f} min  validation "
              f"{stopping.test_log_likelihood:7.1f}" + ("" if full is None else f"  test {full.test_log_likelihood:7.1f}"),
              flush=True)
        if reached:
            stop = point
            break
    if arguments.out is not None:
        os.makedirs(os.path.join(arguments.out, f"seed-{seed}"), exist_ok=True)
        trainer.save(os.path.join(arguments.out, f"seed-{seed}", "checkpoint.npz"),
                     {"elapsed_seconds": training_seconds})
    if stop is None:  # the budget ran out: the last point, with its test estimate
        stop = curve[-1]
        if stop["test"] is None:
            full = evaluate_parzen(trainer.sample(CENTRES, np.random.default_rng(0)), validation[:SIGMA_ROWS], test,
                                   n_validation=SIGMA_ROWS)
            stop.update(test=round(full.test_log_likelihood, 2), test_standard_error=round(full.standard_error, 2),
                        sigma=full.sigma)
    if arguments.out is not None:
        draw_samples(trainer, preset, seed, stop, os.path.join(arguments.out, f"seed-{seed}", "samples.png"))
    return {"seed": seed, "stopped_by": "threshold" if stop["stopping_estimate"] >= arguments.threshold else "budget",
            "training_minutes": stop["training_minutes"], "epochs": stop["epoch"], "test": stop["test"],
            "test_standard_error": stop["test_standard_error"], "reached_table1": stop["test"] >= TABLE1,
            "seconds_per_epoch": round(training_seconds / curve[-1]["epoch"], 2),
            "evaluation_seconds": round(evaluation_seconds, 1), "curve": curve}


def seed_in_child(seed, argv):
    """train_seed(seed) in a fresh Python process given this run's arguments: its result, or for a
    child that failed (it says why on stderr) {"seed", "stopped_by": "failed", "exit_status", ...}."""
    with tempfile.TemporaryDirectory() as folder:
        result_path = os.path.join(folder, "result.json")
        command = [sys.executable, os.path.abspath(__file__), *argv, "--child-seed", str(seed),
                   "--child-result", result_path]
        status = subprocess.run(command).returncode
        if status != 0:
            return {"seed": seed, "stopped_by": "failed", "exit_status": status, "reached_table1": False, "curve": []}
        with open(result_path) as handle:
            return json.load(handle)


def draw_samples(model, preset, seed, stop, path):
    """100 samples of ``model``'s G (a Trainer or a GAN: the average where kept) at the stop, from the
    noise every run's samples.png uses, titled with the training time and the test estimate."""
    from npgan.monitors import SAMPLES_SEED
    from npgan.plots import samples_grid_figure

    samples = model.sample(100, np.random.default_rng(SAMPLES_SEED))
    samples_grid_figure(samples, (28, 28), path,
                        title=f"{preset}, seed {seed}: averaged G after {stop['training_minutes']:.1f} min of training "
                              f"(epoch {stop['epoch']}); Parzen on test {stop['test']:.1f}")


COMPARE = {"mnist-tuned: averaged G (decay 0.99998)": "mnist-tuned-parzen.json",
           "paper-mnist: G as trained": "paper-mnist-parzen.json"}


def draw_figure(report, out_path):
    """Test estimate against training minutes: every seed, and the committed curves of COMPARE."""
    from npgan.plots import PARZEN_CURVE_COLOURS, new_figure, parzen_reference_colour, write_png

    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    seeds = [seed for seed in report["seeds"] if seed["stopped_by"] != "failed"]
    if not seeds:
        print(f"no seed trained: {out_path} not drawn")
        return
    minutes_per_epoch = sum(seed["seconds_per_epoch"] for seed in seeds) / len(seeds) / 60
    figure, (ax,) = new_figure(figsize=(9.0, 6.0), ncols=1)
    for index, seed in enumerate(seeds):
        points = [point for point in seed["curve"] if point["test"] is not None]
        ax.plot([point["training_minutes"] for point in points], [point["test"] for point in points], marker="o",
                markersize=3, linewidth=1.5, color=PARZEN_CURVE_COLOURS[index % len(PARZEN_CURVE_COLOURS)],
                label=f"{report['preset']}, seed {seed['seed']}: averaged G")
    end = max(seed["training_minutes"] for seed in seeds)
    for index, (label, name) in enumerate(COMPARE.items()):
        with open(os.path.join(results, name)) as handle:
            curve = sorted((int(epoch), value["test_log_likelihood"]) for epoch, value in json.load(handle).items()
                           if epoch.isdigit() and epoch != "1")
        curve = [(epoch * minutes_per_epoch, value) for epoch, value in curve if epoch * minutes_per_epoch <= 2 * end]
        ax.plot(*zip(*curve), marker="s", markersize=3, linewidth=1.0, linestyle=":", color="0.35" if index else "0.6",
                label=f"{label} (seed 0; epochs at {minutes_per_epoch * 60:.1f} s)")
    for name, value in (("Table 1 (Goodfellow et al.)", 225.0), ("real data", report["reference"]["test"])):
        ax.axhline(value, color=parzen_reference_colour(name), linestyle="--", linewidth=1.0, label=f"{name}: {value:.1f}")
    ax.axvline(10.0, color="0.5", linewidth=0.8)
    ax.set_ylim(bottom=100)
    ax.set_xlabel("training minutes on 2 cores (evaluation excluded)")
    ax.set_ylabel("Parzen log-likelihood on MNIST test (nats)")
    ax.set_title(f"Time to Table 1: {report['preset']} against the presets of the paper's run", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    figure.tight_layout()
    write_png(figure, out_path)
    print(f"written: {out_path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="mnist-fast", choices=sorted(PRESETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threshold", type=float, default=TABLE1,
                        help="stop when the validation estimate reaches this (default: 225)")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="training budget per seed (default: 20)")
    parser.add_argument("--curve-every", type=int, default=5, help="the test estimate every N epochs (default: 5)")
    parser.add_argument("--evaluate-every", type=int, metavar="ITERATIONS",
                        help="stop the clock and estimate every ITERATIONS iterations (default: every epoch)")
    parser.add_argument("--validation-rows", type=int, default=10000,
                        help="validation images used: 0..999 choose sigma, the rest give the stopping estimate")
    parser.add_argument("--out", help="save each seed's checkpoint at its stop under OUT/seed-N/")
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--figure", help="draw the curves to this PNG")
    parser.add_argument("--from-json", help="no training: redraw --figure from this report")
    add_mnist_argument(parser)
    parser.add_argument("--child-seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-result", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.evaluate_every is not None and arguments.evaluate_every < 1:
        parser.error(f"--evaluate-every must be at least 1, got {arguments.evaluate_every}")
    if arguments.from_json:
        if not arguments.figure:
            parser.error("--from-json needs --figure")
        with open(arguments.from_json) as handle:
            draw_figure(json.load(handle), arguments.figure)
        return 0
    data_dir = mnist_directory(parser, arguments)
    dataset = load_image_dataset("mnist", data_dir)
    validation = dataset.rows("validation", slice(0, arguments.validation_rows))
    test = dataset.rows("test", slice(0, dataset.size("test")))
    if arguments.child_seed is not None:  # a child: one seed, its result to --child-result
        try:
            result = train_seed(arguments.preset, arguments.child_seed, dataset, validation, test, arguments)
        except TrainingDiverged as error:
            print(f"seed {arguments.child_seed}: {error}", file=sys.stderr)
            return 1
        with open(arguments.child_result, "w") as handle:
            json.dump(result, handle)
        return 0
    report = report_head("time_to_table1.py", argv)
    report.update(preset=arguments.preset, threshold=arguments.threshold, max_minutes=arguments.max_minutes,
                  load_average_before=list(os.getloadavg()))
    real = dataset.rows("train", slice(0, CENTRES))
    stopping, full = estimates(real, validation, test)
    report["reference"] = {"centres": f"training images 0..{CENTRES - 1}",
                           "stopping_estimate": round(stopping.test_log_likelihood, 2),
                           "test": round(full.test_log_likelihood, 2)}
    print(f"real-data reference: validation {stopping.test_log_likelihood:.1f}  test {full.test_log_likelihood:.1f}")
    report["seeds"] = []
    for seed in arguments.seeds:
        result = seed_in_child(seed, argv if argv is not None else sys.argv[1:])
        report["seeds"].append(result)
        if result["stopped_by"] == "failed":
            print(f"seed {seed}: failed (exit status {result['exit_status']}; the child's error is above)", flush=True)
            continue
        print(f"seed {seed}: {result['training_minutes']:.2f} min of training, epoch {result['epochs']}, "
              f"test {result['test']:.1f} +- {result['test_standard_error']:.1f} ({result['stopped_by']}; "
              f"evaluation {result['evaluation_seconds']:.0f} s apart)", flush=True)
    report["load_average_after"] = list(os.getloadavg())
    if arguments.json:
        write_json(report, arguments.json)
    if arguments.figure:
        draw_figure(report, arguments.figure)
    return 0 if all(result["reached_table1"] for result in report["seeds"]) else 1


if __name__ == "__main__":
    sys.exit(main())
