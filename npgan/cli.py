"""The `npgan` command line (argparse). Each command parses and validates its options,
calls the library and prints; no numerics live here.

Exit codes: 0 success; 1 a check failed, or training stopped on an error it cannot
get past (divergence, a full disk); 2 bad usage or bad input (a one-line message on
stderr, no traceback), checked before any work starts where the input allows;
130 / 143 training stopped by SIGINT / SIGTERM after writing a checkpoint.
"""

import argparse
import json
import math
import os
import shlex
import signal
import sys
import time

from npgan import __version__


class UsageError(Exception):
    """Bad input found after parsing: reported as one line, exit code 2."""


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"npgan: error: {error}", file=sys.stderr)
        return 2
    except MemoryError as error:
        print(f"npgan: error: not enough memory ({error or 'MemoryError'}); ask for fewer samples or a "
              "smaller --batch-size", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("npgan: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


# -- the parser ---------------------------------------------------------------------------------

def build_parser():
    from npgan.data.mnist import IMAGE_DATASETS
    from npgan.divergences import DIVERGENCE_NAMES
    from npgan.losses import GENERATOR_LOSSES
    from npgan.models import DEFAULT_PRESET, OPTIMIZERS, PRESETS, UPDATE_ORDERS
    from npgan.noise import NOISE_PRIORS

    parser = argparse.ArgumentParser(
        prog="npgan",
        description="Generative Adversarial Nets (Goodfellow et al., 2014) in NumPy, "
                    "with hand-written, gradient-checked backprop.",
    )
    parser.add_argument("--version", action="version", version=f"npgan {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    train = commands.add_parser(
        "train", help="train a GAN with Algorithm 1",
        description="Train G and D with Algorithm 1 of the paper. Writes config.json, metrics.jsonl, "
                    "checkpoint.npz and samples.png into --out.")
    train.add_argument("--preset", choices=sorted(PRESETS),
                       help=f"experiment preset (default: {DEFAULT_PRESET}; with --resume: the run's)")
    train.add_argument("--seed", type=non_negative_int, help="the one seed of the run (default: 0; with --resume: "
                                                              "the run's)")
    train.add_argument("--dataset", choices=IMAGE_DATASETS,
                       help="train an image preset on another image dataset (default: the preset's)")
    add_data_dir_option(train)
    length = train.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=positive_int, help="Algorithm 1 iterations (default: the preset's)")
    length.add_argument("--epochs", type=positive_int, help="epochs over the training set (datasets with epochs)")
    train.add_argument("--out", help="run directory (default: runs/<preset>-<seed>)")
    train.add_argument("--learning-rate", type=positive_float, help="initial learning rate of both nets")
    train.add_argument("--k-discriminator-steps", type=positive_int, help="D steps per G step (Algorithm 1's k)")
    train.add_argument("--batch-size", type=count, help="minibatch size m")
    train.add_argument("--generator-loss", choices=GENERATOR_LOSSES)
    train.add_argument("--update-order", choices=UPDATE_ORDERS,
                       help="sequential: Algorithm 1; simultaneous: the authors' released code")
    train.add_argument("--optimizer", choices=OPTIMIZERS, help="momentum (the paper's) or adam")
    train.add_argument("--noise", choices=NOISE_PRIORS, help="noise prior p_z")
    train.add_argument("--divergence", choices=DIVERGENCE_NAMES,
                       help="the f-divergence D and G play (f-GAN); gan, the default, is the paper's objective")
    train.add_argument("--generator-average-decay", type=positive_float, metavar="DECAY",
                       help="sample and evaluate G from a moving average of its parameters (not in the paper; "
                            "mnist-tuned: 0.99998); with --resume it can switch averaging on for a run without")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    sample = commands.add_parser("sample", help="draw samples from a trained generator",
                                 description="Write an (N, data_dim) float32 array of G samples to a .npy file.")
    sample.add_argument("--checkpoint", required=True, help="a checkpoint.npz of npgan train")
    sample.add_argument("-n", type=count, required=True, help="number of samples")
    sample.add_argument("--seed", type=non_negative_int, default=0, help="seed of the noise (default: 0)")
    sample.add_argument("--out", required=True, help="output .npy file")
    add_generator_option(sample)
    sample.set_defaults(run=run_sample)

    export = commands.add_parser(
        "export", help="write a trained generator alone to a small .npz",
        description="Write G alone (float32, about a third of a training checkpoint) to --out: a checkpoint "
                    "that npgan sample, npgan evaluate and npgan figure 2/3 accept, but that cannot resume "
                    "training.")
    export.add_argument("--checkpoint", required=True, help="a checkpoint.npz of npgan train")
    export.add_argument("--out", required=True, help="output .npz file")
    add_generator_option(export)
    export.set_defaults(run=run_export)

    evaluate = commands.add_parser("evaluate", help="evaluate a trained generator")
    metrics = evaluate.add_subparsers(title="metrics", metavar="METRIC", required=True)
    modes = metrics.add_parser(
        "modes", help="mode coverage of a toy generator (VEEGAN's metric)",
        description="Modes captured and the fraction of high-quality samples (within 3 std of "
                    "their nearest mode) of 2,500 samples of a toy checkpoint.")
    modes.add_argument("--checkpoint", required=True)
    modes.add_argument("--samples", type=count, default=2500, help="number of samples (default: 2500)")
    modes.add_argument("--seed", type=non_negative_int, default=0, help="seed of the noise (default: 0)")
    modes.add_argument("--json", action="store_true", help="print a JSON object")
    add_generator_option(modes)
    modes.set_defaults(run=run_evaluate_modes)
    parzen = metrics.add_parser(
        "parzen", help="Parzen-window log-likelihood of an image generator (Table 1 of the paper)",
        description="Table 1's procedure: --samples samples of G as the kernel centres; sigma the best of "
                    "logspace(-1, 0, 10) by mean log-likelihood on the first --validation validation images; "
                    "reported: the mean log-likelihood of the first --test test images at that sigma, +- its "
                    "standard error. --reference runs the same estimator with real training images as the "
                    "centres (about 243 on MNIST, Theis et al. 2016): a high number alone does not mean "
                    "good samples.")
    parzen.add_argument("--checkpoint", required=True, help="a checkpoint.npz of an MNIST or Fashion-MNIST run")
    add_data_dir_option(parzen)
    parzen.add_argument("--samples", type=count, default=10000,
                        help="kernel centres drawn from G (default: 10000, as in the paper)")
    parzen.add_argument("--validation", type=count, default=1000,
                        help="validation images that choose sigma (default: 1000, the first of the split)")
    parzen.add_argument("--test", type=count, help="test images evaluated (default: all 10000)")
    parzen.add_argument("--seed", type=non_negative_int, default=0, help="seed of the noise (default: 0)")
    parzen.add_argument("--reference", action="store_true",
                        help="also evaluate the first --samples training images as centres (real-data reference)")
    parzen.add_argument("--json", action="store_true", help="print a JSON object")
    add_generator_option(parzen)
    parzen.set_defaults(run=run_evaluate_parzen)

    figure = commands.add_parser(
        "figure", help="draw a figure of the paper",
        description="1: Figure 1 from a real 1-D run; saturation: the generator gradients of section 3; "
                    "2: samples of a trained image generator beside the nearest training example; "
                    "3: rows of G(z) along linear interpolations between random z; divergences: G fitted to "
                    "two modes under each f-divergence (six real runs, a few minutes).")
    figure.add_argument("name", choices=["1", "2", "3", "saturation", "divergences"])
    figure.add_argument("--out", help="output PNG (default: figure-<name>.png)")
    figure.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the run behind Figure 1, of the noise of Figures 2 and 3 (default: 0)")
    figure.add_argument("--checkpoint", help="Figures 2 and 3: a checkpoint of an MNIST or Fashion-MNIST run")
    add_data_dir_option(figure)
    add_generator_option(figure)
    figure.set_defaults(run=run_figure)

    sweep = commands.add_parser(
        "sweep", help="train and evaluate a preset over seeds and a hyperparameter grid, on Dask",
        description="Runs = the grid's points x the seeds. Each run is an npgan train run directory under "
                    "--out, then evaluated (mode coverage for toys, the quick Parzen estimate for MNIST). "
                    "Writes --out/results.csv (one row per run) and --out/summary.md (one row per grid point, "
                    "mean +- std over seeds). Re-running the same sweep skips the runs already done. Needs "
                    "Dask: pip install \"npgan[distributed]\".")
    sweep.add_argument("--preset", required=True, choices=sorted(PRESETS))
    sweep.add_argument("--seeds", default="0-4", help="seeds: 0-4, 0,2,7 or 0-2,5 (default: 0-4)")
    sweep.add_argument("--grid", nargs="+", default=[], metavar="KEY=V1,V2",
                       help="configuration keys and their values, e.g. k_discriminator_steps=1,3 "
                            "generator_loss=non-saturating,minimax (lists as [128,128])")
    sweep.add_argument("--iterations", type=positive_int, help="Algorithm 1 iterations per run (default: the preset's)")
    add_data_dir_option(sweep)
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    sweep.add_argument("--workers", type=positive_int,
                       help="local cluster: single-threaded worker processes (default: one per core)")
    sweep.add_argument("--out", help="sweep directory (default: runs/sweep-<preset>)")
    sweep.add_argument("--json", action="store_true", help="print the runs and the summary as a JSON object")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.set_defaults(run=run_sweep)

    gradcheck = commands.add_parser(
        "gradcheck", help="check every layer, loss and whole G and D step against finite differences",
        description="Compare every hand-written derivative (each layer, each loss, the D and G steps of "
                    "Algorithm 1 in both update orders) with centred finite differences. Exits 1 if any "
                    "check is over its threshold.")
    gradcheck.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    gradcheck.add_argument("--seed", type=non_negative_int, default=0,
                           help="seed of the random networks and inputs (default: 0)")
    gradcheck.set_defaults(run=run_gradcheck)
    return parser


# -- the commands ---------------------------------------------------------------------------------

def run_train(args):
    """Validate every option, lock the run directory, load the data and train under the
    SIGINT/SIGTERM handlers; the lock is released on every way out."""
    from npgan.data.mnist import IMAGE_DATASETS
    from npgan.models import DEFAULT_PRESET, PRESETS, preset_config
    from npgan.runlock import RunLock, RunLocked, describe_owner

    preset = args.preset or DEFAULT_PRESET
    out = args.out or os.path.join("runs", f"{preset}-{0 if args.seed is None else args.seed}")
    changes = {key: value for key, value in {
        "seed": args.seed, "learning_rate": args.learning_rate,
        "k_discriminator_steps": args.k_discriminator_steps, "batch_size": args.batch_size,
        "generator_loss": args.generator_loss, "update_order": args.update_order,
        "optimizer": args.optimizer, "noise": args.noise, "dataset": args.dataset,
        "divergence": args.divergence, "generator_average_decay": args.generator_average_decay}.items()
        if value is not None}
    config = None
    if not args.resume:  # everything the options decide is checked before the directory is touched
        if args.dataset is not None and PRESETS[preset]["dataset"] not in IMAGE_DATASETS:
            raise UsageError(f"--dataset is for the image presets; {preset} trains on its toy distribution "
                             f"{PRESETS[preset]['dataset']}")
        try:
            config = preset_config(preset, **changes)
        except ValueError as error:
            raise UsageError(str(error)) from None
        config["iterations"] = _iterations(config, args)
        _check_data_dir(config, args.data_dir)
    elif not os.path.isdir(out):
        raise UsageError(f"nothing to resume: {out} {'is not a directory' if os.path.exists(out) else 'does not exist'}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a run directory")

    lock = RunLock(out)
    try:
        stale = lock.acquire()
    except RunLocked as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"cannot create or write the run directory {out}: {error.strerror or error}") from None
    try:
        if stale is not None:
            print(f"npgan: note: took over the lock of {describe_owner(stale)}, which is no longer running "
                  f"(it stopped without releasing {lock.path})", file=sys.stderr)
        return _train_locked(args, out, config, changes)
    finally:
        lock.release()


def _train_locked(args, out, config, changes):
    import numpy as np

    from npgan.checkpoint import CheckpointError, load_checkpoint
    from npgan.interrupt import SignalStop, StopOnSignals
    from npgan.train import RunDirectoryError, Trainer, TrainingDiverged, TrainingInterrupted, train_run

    checkpoint_path = os.path.join(out, "checkpoint.npz")
    try:
        if args.resume:
            if not os.path.exists(checkpoint_path):
                raise UsageError(f"nothing to resume: {checkpoint_path} does not exist")
            checkpoint = load_checkpoint(checkpoint_path)
            config = _resumed_config(checkpoint, args, changes)
            if config is None:
                print(f"npgan: the run in {out} is complete (iteration {checkpoint.state['iteration']}); pass a "
                      "larger --iterations or --epochs with --resume to train it further", file=sys.stderr)
                return 0
            dataset = dataset_for(config, args.data_dir)
            trainer = Trainer.from_checkpoint(checkpoint, dataset, iterations=config["iterations"],
                                              generator_average_decay=config["generator_average_decay"])
            del checkpoint  # the trainer holds copies: kept, its arrays were 30 MiB more at paper-mnist's peak
        else:
            if os.path.exists(checkpoint_path):
                raise UsageError(f"{out} already holds a run; pass --resume to continue it, or --out "
                                 "to start a new one elsewhere")
            dataset = dataset_for(config, args.data_dir)
            trainer = Trainer(config, dataset)
    except (ValueError, CheckpointError) as error:
        raise UsageError(str(error)) from None

    total = trainer.config["iterations"]
    resuming = f", resuming after iteration {trainer.iteration}" if trainer.iteration else ""
    print(f"training {trainer.config['preset']} (seed {trainer.config['seed']}) for {total} iterations "
          f"into {out}{resuming}", file=sys.stderr)
    resume = _resume_command(out, args.data_dir)
    bar, on_progress, on_log = _progress_bar(total, trainer.iteration, quiet=args.no_progress)
    try:
        # NaN and inf are caught by the trainer, which names the quantity and the iteration
        # (TrainingDiverged); numpy's own warnings about them would only come first, unnamed.
        with StopOnSignals() as stop, np.errstate(over="ignore", invalid="ignore"):
            checkpoint = train_run(trainer, out, progress=on_progress, on_log=on_log, stop_requested=stop)
    except TrainingInterrupted as interrupted:
        _close(bar)
        print(f"npgan: {stop.signal_name}: stopped after iteration {interrupted.iteration} of {total}; checkpoint "
              f"written to {interrupted.checkpoint_path}. Resume with: {resume}", file=sys.stderr)
        return 128 + stop.signal_number
    except SignalStop as stopped:
        _close(bar)
        print(f"npgan: a second {stopped}: stopped at once; the last checkpoint written ({checkpoint_path}, "
              f"if any) is kept. Resume with: {resume}", file=sys.stderr)
        return 128 + stopped.signal_number
    except TrainingDiverged as error:
        _close(bar)
        kept = (f"the last good checkpoint is kept in {checkpoint_path}" if os.path.exists(checkpoint_path)
                else "no checkpoint had been written yet")
        print(f"npgan: training diverged: {error}; {kept}. Start again with a lower --learning-rate "
              f"(this run: {trainer.config['learning_rate']:g}).", file=sys.stderr)
        return 1
    except RunDirectoryError as error:
        _close(bar)
        print(f"npgan: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a directory removed under the run
        _close(bar)
        print(f"npgan: error: training stopped: cannot write into {out}: {error.strerror or error}; the last "
              f"checkpoint written is kept (atomic writes). Resume with: {resume}", file=sys.stderr)
        return 1
    finally:
        _close(bar)
    print(f"done: {os.path.join(out, 'config.json')}, {os.path.join(out, 'metrics.jsonl')}, "
          f"{checkpoint}, {os.path.join(out, 'samples.png')}")
    return 0


def _resume_command(out, data_dir):
    words = ["npgan", "train", "--resume", "--out", out] + (["--data-dir", data_dir] if data_dir else [])
    return " ".join(shlex.quote(word) for word in words)


def _close(bar):
    if bar is not None:
        bar.close()


def run_sample(args):
    import numpy as np

    from npgan.train import generate

    _check_output(args.out)
    gan, config = _load_gan(args.checkpoint, generator=args.generator)
    samples = generate(gan, config, args.n, np.random.default_rng(args.seed))
    try:
        np.save(args.out, samples)
    except OSError as error:
        raise UsageError(f"cannot write {args.out}: {error.strerror}") from None
    print(f"wrote {samples.shape[0]} samples of dimension {samples.shape[1]} to {args.out}")
    return 0


def run_export(args):
    from npgan.checkpoint import CheckpointError, load_checkpoint
    from npgan.train import export_generator

    _check_output(args.out)
    try:
        gan = export_generator(load_checkpoint(args.checkpoint), args.out, args.generator)
    except (ValueError, CheckpointError) as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"cannot write {args.out}: {error.strerror or error}") from None
    size = sum(value.nbytes for value in gan.params.values())
    print(f"wrote G ({len(gan.params)} arrays, {size / 2**20:.1f} MiB of parameters) to {args.out} "
          f"({os.path.getsize(args.out) / 2**20:.1f} MiB)")
    return 0


def run_evaluate_modes(args):
    import numpy as np

    from npgan.data.toy import TOY_DISTRIBUTIONS
    from npgan.evaluate.modes import evaluate_toy
    from npgan.train import generate

    gan, config = _load_gan(args.checkpoint, TOY_DISTRIBUTIONS, "mode coverage needs a toy checkpoint",
                            generator=args.generator)
    toy = TOY_DISTRIBUTIONS[config["dataset"]]
    coverage = evaluate_toy(generate(gan, config, args.samples, np.random.default_rng(args.seed)), toy)
    result = {"dataset": toy.name, "modes_captured": coverage.modes_captured, "num_modes": toy.num_modes,
              "high_quality_fraction": coverage.high_quality_fraction,
              "high_quality_percent": 100 * coverage.high_quality_fraction, "n_samples": coverage.n_samples}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{toy.name}: {coverage.modes_captured} of {toy.num_modes} modes captured, "
              f"{100 * coverage.high_quality_fraction:.1f}% high-quality samples (of {coverage.n_samples})")
    return 0


def run_evaluate_parzen(args):
    import numpy as np

    from npgan.data.mnist import IMAGE_DATASETS
    from npgan.evaluate.parzen import evaluate_parzen
    from npgan.train import generate

    gan, config = _load_gan(args.checkpoint, IMAGE_DATASETS, "the Parzen-window log-likelihood needs an image "
                            "checkpoint (MNIST or Fashion-MNIST)", generator=args.generator)
    try:
        dataset = dataset_for(config, args.data_dir)
    except ValueError as error:
        raise UsageError(str(error)) from None
    n_test = dataset.size("test") if args.test is None else args.test
    if args.validation > dataset.size("validation"):
        raise UsageError(f"--validation {args.validation}: the {dataset.name} validation split has "
                         f"{dataset.size('validation')} images")
    if n_test > dataset.size("test"):
        raise UsageError(f"--test {n_test}: the {dataset.name} test split has {dataset.size('test')} images")
    if args.reference and args.samples > dataset.size("train"):
        raise UsageError(f"--reference uses the first --samples training images as centres, and the "
                         f"{dataset.name} training split has {dataset.size('train')}; lower --samples")
    # only the rows used, as float32 (the whole splits would be 220 MB for MNIST)
    validation = dataset.rows("validation", slice(0, args.validation))
    test = dataset.rows("test", slice(0, n_test))

    def parzen(centres):
        return evaluate_parzen(centres, validation, test, n_validation=args.validation)

    started = time.perf_counter()
    samples = generate(gan, config, args.samples, np.random.default_rng(args.seed))
    sampling_seconds = time.perf_counter() - started
    try:
        model = parzen(samples)
    except ValueError as error:
        raise UsageError(f"the samples of G from {args.checkpoint}: {error} (did training diverge?)") from None
    reference = parzen(dataset.rows("train", slice(0, args.samples))) if args.reference else None

    result = {**model.as_dict(), "dataset": dataset.name, "checkpoint": args.checkpoint, "seed": args.seed,
              "sampling_seconds": sampling_seconds}
    if reference is not None:
        result["reference"] = {**reference.as_dict(), "centres": f"training images 0..{args.samples - 1}"}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Parzen-window log-likelihood on {dataset.name}: {n_test} test images, sigma chosen on the first "
          f"{args.validation} validation images")
    rows = [(f"G: {args.samples} samples (seed {args.seed})", model)]
    if reference is not None:
        rows.append((f"real data: {args.samples} training images", reference))
    width = max(len(label) for label, _ in rows)
    print(f"{'centres'.ljust(width)}  {'sigma':>6}  {'validation':>10}  {'test':>16}  time")
    for label, evaluation in rows:
        test = f"{evaluation.test_log_likelihood:.1f} +- {evaluation.standard_error:.1f}"
        print(f"{label.ljust(width)}  {evaluation.sigma:6.4f}  {evaluation.validation_log_likelihood:10.1f}  "
              f"{test:>16}  {evaluation.seconds:.1f} s")
    print(f"(sampling G: {sampling_seconds:.1f} s)")
    return 0


def run_sweep(args):
    """Check Dask and every option, plan the runs (each configuration validated), skip the
    runs already complete, run the rest on the cluster, write results.csv and summary.md."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError('npgan sweep needs Dask distributed: pip install "npgan[distributed]" (from a clone: '
                         'pip install -e ".[distributed]")') from None
    from npgan import sweep

    out = args.out or os.path.join("runs", f"sweep-{args.preset}")
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers is for the local cluster; with --scheduler the scheduler's workers run the sweep")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a directory")
    try:
        seeds = sweep.parse_seeds(args.seeds)
        grid = sweep.parse_grid(args.preset, args.grid)
        runs = sweep.plan_runs(args.preset, seeds, grid, out, iterations=args.iterations, data_dir=args.data_dir)
        _check_data_dir(runs[0]["config"], args.data_dir)
        done = {index: sweep.finished_result(run) for index, run in enumerate(runs)}
    except ValueError as error:
        raise UsageError(str(error)) from None
    from npgan.data.mnist import IMAGE_DATASETS

    if runs[0]["config"]["dataset"] in IMAGE_DATASETS:
        try:
            dataset_for(runs[0]["config"], args.data_dir)  # found (or downloaded) once, before the workers need it
        except ValueError as error:
            raise UsageError(str(error)) from None
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the sweep directory {out}: {error.strerror or error}") from None

    todo = [run for index, run in enumerate(runs) if done[index] is None]
    workers = args.workers or _cores()
    where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else \
        f"a local cluster of {workers} single-threaded worker{'s' if workers > 1 else ''}"
    print(f"sweep {args.preset}: {len(runs)} runs ({len(runs) - len(todo)} already done) into {out} on {where}",
          file=sys.stderr)
    started = time.perf_counter()
    new_results = _sweep_on_cluster(args, todo, sweep) if todo else []
    results = [done[index] for index in range(len(runs))]
    fresh = iter(new_results)
    results = [result if result is not None else next(fresh) for result in results]

    words = ["npgan", "sweep", "--preset", args.preset, "--seeds", args.seeds,
             *(["--grid", *args.grid] if args.grid else []),
             *(["--iterations", str(args.iterations)] if args.iterations else []),
             *(["--data-dir", args.data_dir] if args.data_dir else []), "--out", out]
    command = " ".join(shlex.quote(word) for word in words)
    summary = sweep.summarise(runs, results)
    sweep.write_results_csv(os.path.join(out, "results.csv"), runs, results)
    markdown = sweep.summary_markdown(args.preset, runs, summary, command=command)
    with open(os.path.join(out, "summary.md"), "w") as handle:
        handle.write(markdown)
    failed = [result for result in results if result["status"] != "ok"]
    for result in failed:
        print(f"npgan: run {result['name']} {result['status']}: {result['message']}", file=sys.stderr)
    if args.json:
        print(json.dumps({"out": out, "runs": results, "summary": summary, "seconds": time.perf_counter() - started}))
    else:
        print(markdown)
        print(f"{len(runs) - len(failed)} of {len(runs)} runs ok ({len(todo)} run now, "
              f"{time.perf_counter() - started:.1f} s): {os.path.join(out, 'results.csv')}, "
              f"{os.path.join(out, 'summary.md')}")
    return 1 if failed else 0


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _sweep_on_cluster(args, runs, sweep):
    """The runs on a local cluster or on --scheduler's workers (the same code path), with a
    progress bar over runs."""
    import contextlib

    from distributed import Client
    from tqdm import tqdm

    with contextlib.ExitStack() as stack:
        if args.scheduler is None:
            cluster = stack.enter_context(sweep.local_cluster(args.workers or _cores()))
            address = cluster.scheduler_address
        else:
            address = args.scheduler
        try:
            client = stack.enter_context(Client(address, timeout=10))
        except (OSError, TimeoutError) as error:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        bar = None if args.no_progress else tqdm(total=len(runs), unit="run", dynamic_ncols=True)
        if bar is not None:
            stack.callback(bar.close)
        failures = 0

        def on_result(result):
            nonlocal failures
            failures += result["status"] != "ok"
            if bar is not None:
                bar.update(1)
                bar.set_postfix(failed=failures, refresh=False)

        return sweep.run_sweep(runs, client, on_result=on_result)


def run_figure(args):
    from npgan.data.mnist import IMAGE_DATASETS
    from npgan.figures import divergences_figure, figure1, figure2, figure3, saturation_figure

    out = args.out or f"figure-{args.name}.png"
    needs_checkpoint = args.name in ("2", "3")
    if needs_checkpoint != (args.checkpoint is not None):
        raise UsageError(f"figure {args.name} {'needs' if needs_checkpoint else 'takes no'} --checkpoint")
    if args.data_dir is not None and args.name != "2":
        raise UsageError("--data-dir is for figure 2 (its nearest training examples)")
    _check_output(out)
    if needs_checkpoint:
        gan, config = _load_gan(args.checkpoint, IMAGE_DATASETS, f"figure {args.name} needs an image generator",
                                generator=args.generator)
    started = time.perf_counter()
    try:
        if args.name == "1":
            figure1(out, seed=args.seed)
        elif args.name == "2":
            try:
                dataset = dataset_for(config, args.data_dir)
            except ValueError as error:
                raise UsageError(str(error)) from None
            figure2(gan, config, dataset.train, out, image_shape=dataset.image_shape, seed=args.seed)
        elif args.name == "3":
            figure3(gan, config, out, seed=args.seed)
        elif args.name == "divergences":
            masses = divergences_figure(out, seed=args.seed)
            for name, mass in masses.items():
                print(f"{name}: " + ("diverged" if mass is None else
                                     f"mass within 3 std of -2 / +2: {mass[0]:.3f} / {mass[1]:.3f}"))
        else:
            saturation_figure(out)
    except OSError as error:
        raise UsageError(str(error)) from None
    print(f"wrote {out} ({time.perf_counter() - started:.1f} s)")
    return 0


def run_gradcheck(args):
    from npgan.gradcheck import run_all

    started = time.perf_counter()
    results = run_all(seed=args.seed)
    seconds = time.perf_counter() - started
    failed = [result for result in results if not result.ok]
    if args.json:
        print(json.dumps([result.as_dict() for result in results], indent=1))
    else:
        print(format_table(results))
        verdict = "all passed" if not failed else f"{len(failed)} FAILED"
        print(f"\n{len(results)} checks, {verdict} (seed {args.seed}, {seconds:.1f} s)")
    return 1 if failed else 0


# -- helpers ---------------------------------------------------------------------------------------

def add_data_dir_option(parser):
    parser.add_argument("--data-dir", metavar="DIR", type=existing_directory,
                        help="directory holding the four MNIST (or Fashion-MNIST) IDX files; default: "
                             "$NPGAN_DATA_DIR (Fashion-MNIST: $NPGAN_FASHION_MNIST_DIR), else "
                             "~/.cache/npgan/<dataset>, downloaded there if missing")


def add_generator_option(parser):
    parser.add_argument("--generator", choices=("average", "trained"), default="average",
                        help="average (default): the moving average of G's parameters where the run kept one "
                             "(generator_average_decay > 0), else the trained G; trained: the trained G always")


def dataset_for(config, data_dir=None):
    """The data a configuration trains on (npgan.data.load_dataset); --data-dir only for image data.
    A ValueError (DataError) says what is wrong."""
    from npgan.data import load_dataset

    _check_data_dir(config, data_dir)
    return load_dataset(config["dataset"], data_dir)


def format_table(results):
    header = ("check", "parameter", "rel_error", "threshold", "skipped", "")
    rows = [(r.check, r.parameter, f"{r.rel_error:.2e}", f"{r.threshold:.0e}",
             f"{r.skipped}/{r.checked + r.skipped}", "ok" if r.ok else "FAIL") for r in results]
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header] + rows)


def _iterations(config, args):
    if args.epochs is not None:
        if config["iterations_per_epoch"] is None:
            raise UsageError(f"preset {config['preset']} trains on a stream of toy data and has no "
                             "epochs; use --iterations")
        return args.epochs * config["iterations_per_epoch"]
    return args.iterations if args.iterations is not None else config["iterations"]


def _resumed_config(checkpoint, args, changes):
    """The configuration a resume continues: the checkpoint's, with a new end from --iterations
    or --epochs, and generator averaging switched on if asked (it does not change training).
    Refuses other changed options; None if the run is already complete."""
    from npgan.train import checkpoint_config

    config = checkpoint_config(checkpoint)
    given = {**changes, **({"preset": args.preset} if args.preset is not None else {})}
    if not config["generator_average_decay"] and "generator_average_decay" in given:
        try:
            config = checkpoint_config(checkpoint, {"generator_average_decay": given["generator_average_decay"]})
        except ValueError as error:
            raise UsageError(str(error)) from None
    for key, value in given.items():
        if config.get(key) != value:
            raise UsageError(f"--resume continues the saved run: {key} cannot change "
                             f"(saved {config.get(key)!r}, given {value!r})")
    if args.iterations is not None or args.epochs is not None:
        config["iterations"] = _iterations(config, args)
    done = checkpoint.state.get("iteration")
    if isinstance(done, int) and isinstance(config.get("iterations"), int):
        if config["iterations"] < done:
            raise UsageError(f"the run is at iteration {done}; --resume can only train it further "
                             f"(asked for {config['iterations']} iterations in all)")
        if config["iterations"] == done:
            return None
    return config


def _check_data_dir(config, data_dir):
    from npgan.data.mnist import IMAGE_DATASETS

    if data_dir is not None and config["dataset"] not in IMAGE_DATASETS:
        raise UsageError(f"--data-dir is for MNIST and Fashion-MNIST; {config['dataset']} is generated")


def _check_output(path):
    """An output file's directory must exist (checked before the work, not after it)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {path}: the directory {os.path.dirname(path) or directory} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path}: it is a directory")


def _load_gan(path, datasets=None, purpose=None, generator="average"):
    """The GAN of the checkpoint at ``path`` (npgan.train.gan_from_checkpoint) and its
    configuration. With ``datasets``, the checkpoint must have been trained on one of
    them, else "<purpose>; <path> was trained on ..."."""
    from npgan.checkpoint import CheckpointError, load_checkpoint
    from npgan.train import checkpoint_config, gan_from_checkpoint

    try:
        checkpoint = load_checkpoint(path)
        gan, config = gan_from_checkpoint(checkpoint, generator), checkpoint_config(checkpoint)
    except (ValueError, CheckpointError) as error:
        raise UsageError(str(error)) from None
    if datasets is not None and config["dataset"] not in datasets:
        raise UsageError(f"{purpose}; {path} was trained on {config['dataset']}")
    return gan, config


def _progress_bar(total, done, *, quiet):
    """A tqdm bar (iterations/s, the latest objectives, D(x), D(G(z)) and the sample diversity)
    and its two callbacks: one per iteration, one per metrics record (which also prints a
    mode-collapse warning, with or without the bar)."""
    from tqdm import tqdm

    bar = None if quiet else tqdm(total=total, initial=done, unit="it", dynamic_ncols=True, mininterval=0.5)
    shown = {}

    def on_progress(iterations_done, metrics):
        bar.update(iterations_done - bar.n)
        if iterations_done % 50 == 0:
            shown.update(d=f"{metrics['objective_d']:.3f}", g=f"{metrics['objective_g']:.3f}",
                         Dx=f"{metrics['mean_d_real']:.2f}", DGz=f"{metrics['mean_d_fake']:.2f}")
            bar.set_postfix(shown, refresh=False)

    def on_log(record):
        shown["diversity"] = f"{record['sample_diversity']:.3f}/{record['data_diversity']:.3f}"
        if record["collapse_warning"]:
            message = (f"npgan: warning: at iteration {record['iteration']} G's samples vary far less than the "
                       f"data (diversity {record['sample_diversity']:.3f} vs {record['data_diversity']:.3f}): "
                       "mode collapse? See samples.png.")
            if bar is None:
                print(message, file=sys.stderr)
            else:
                bar.write(message, file=sys.stderr)

    return bar, (None if quiet else on_progress), on_log


MAX_COUNT = 10**7  # samples, images or a minibatch: more is a typo, not a plan


def count(text):
    """A number of samples, images or rows: 1 to MAX_COUNT."""
    value = positive_int(text)
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_COUNT:,}, got {value:,}")
    return value


def existing_directory(text):
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is not a directory" if os.path.exists(text) else
                                         f"{text} does not exist")
    return text


def positive_int(text):
    value = _parse(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def non_negative_int(text):
    value = _parse(text, int, "a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def positive_float(text):
    value = _parse(text, float, "a number")
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _parse(text, kind, what):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
