"""The commands that train: `npgan train` (one run directory, under its lock and the SIGINT /
SIGTERM handlers, with a progress bar) and `npgan sweep` (many runs on Dask, then results.csv
and summary.md). The training itself is npgan.run.train_run's, with the standard monitors of
npgan.monitors; npgan.cli puts these commands into its parser.
"""

import errno
import json
import os
import shlex
import signal
import sys
import time

from npgan.cli_options import (
    UsageError,
    add_data_dir_option,
    check_data_dir,
    count,
    dataset_for,
    non_negative_int,
    output_directory,
    positive_float,
    positive_int,
)

# Before any work, a lock or a sweep record that cannot be written for want of space is a failed
# write (exit 1), like a failed checkpoint; any other failure to create or write --out (a
# read-only file system, a path through a file) is a bad --out (exit 2). After work was done,
# a failed write is exit 1 whatever the reason.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def add_train_command(commands):
    """The `npgan train` subparser of ``commands`` (argparse subparsers)."""
    from npgan.data.mnist import IMAGE_DATASETS
    from npgan.divergences import DIVERGENCE_NAMES
    from npgan.losses import GENERATOR_LOSSES
    from npgan.models import DEFAULT_PRESET, KEEP_CHECKPOINTS, OPTIMIZERS, PRESETS, UPDATE_ORDERS
    from npgan.noise import NOISE_PRIORS

    train = commands.add_parser(
        "train", help="train a GAN with Algorithm 1",
        description="Train G and D with Algorithm 1 of the paper. Writes config.json, metrics.jsonl, "
                    "checkpoint.npz, samples.png and curves.png into --out.")
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
    train.add_argument("--out", type=output_directory, help="run directory (default: runs/<preset>-<seed>)")
    train.add_argument("--learning-rate", type=positive_float, help="initial learning rate of both nets")
    train.add_argument("--k-discriminator-steps", type=positive_int, help="D steps per G step (Algorithm 1's k)")
    train.add_argument("--batch-size", type=count, help="minibatch size m")
    train.add_argument("--pack", type=positive_int, metavar="N",
                       help="PacGAN (not in the paper): D judges N samples at once, m/N packs of real and of "
                            "generated samples a step; N must divide the minibatch size (default: 1)")
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
    train.add_argument("--keep-checkpoints", type=non_negative_int, metavar="N",
                       help=f"datasets with epochs: how many epoch checkpoints checkpoints/epoch-NNNN.npz keeps, "
                            f"the latest (default: {KEEP_CHECKPOINTS}; 0 keeps every one; with --resume: the run's)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)


def add_sweep_command(commands):
    """The `npgan sweep` subparser of ``commands`` (argparse subparsers)."""
    from npgan.models import PRESETS

    sweep = commands.add_parser(
        "sweep", help="train and evaluate a preset over seeds and a hyperparameter grid, on Dask",
        description="Runs = the grid's points x the seeds. Each run is an npgan train run directory under "
                    "--out, then evaluated (mode coverage for toys, the quick Parzen estimate for MNIST). "
                    "Writes --out/results.csv (one row per run) and --out/summary.md (one row per grid point, "
                    "mean +- std over seeds). Re-running the same sweep skips the runs already done; an --out "
                    "holding another sweep (other runs or configurations) is refused. Needs "
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
    sweep.add_argument("--out", type=output_directory, help="sweep directory (default: runs/sweep-<preset>)")
    sweep.add_argument("--json", action="store_true", help="print the runs and the summary as a JSON object")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.set_defaults(run=run_sweep)


def run_train(args):
    """Validate every option, lock the run directory, load the data and train under the
    SIGINT/SIGTERM handlers; the lock is released on every way out."""
    from npgan.data.mnist import IMAGE_DATASETS
    from npgan.interrupt import ExitOnSignals, SignalStop
    from npgan.models import DEFAULT_PRESET, PRESETS, preset_config

    preset = args.preset or DEFAULT_PRESET
    out = args.out or os.path.join("runs", f"{preset}-{0 if args.seed is None else args.seed}")  # "" is refused
    changes = {key: value for key, value in {
        "seed": args.seed, "learning_rate": args.learning_rate,
        "k_discriminator_steps": args.k_discriminator_steps, "batch_size": args.batch_size, "pack": args.pack,
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
        check_data_dir(config, args.data_dir)
    elif not os.path.isdir(out):
        raise UsageError(f"nothing to resume: {out} {'is not a directory' if os.path.exists(out) else 'does not exist'}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a run directory")

    # From taking the lock until training's own handlers take over (and after they hand
    # back), SIGTERM raises SignalStop as SIGINT raises KeyboardInterrupt: the lock is released.
    phase = {"training": "not started"}
    try:
        with ExitOnSignals() as guard:
            return _train_under_lock(args, out, config, changes, phase, guard)
    except (SignalStop, KeyboardInterrupt) as stopped:
        number = signal.SIGINT if isinstance(stopped, KeyboardInterrupt) else stopped.signal_number
        name = signal.Signals(number).name
        where = {"not started": "before training started; nothing was trained",
                 "started": "while stopping; the last checkpoint written is kept",
                 "ended": "after training ended; the run is complete"}[phase["training"]]
        print(f"npgan: {name}: stopped {where}, and the lock of {out} is released", file=sys.stderr)
        return 128 + number


def _train_under_lock(args, out, config, changes, phase, guard):
    from npgan.runlock import RunLock, RunLocked, describe_owner

    lock = RunLock(out)
    try:
        stale = lock.acquire()
    except RunLocked as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        reason = error.strerror or str(error)
        if error.errno in _DISK_FULL:
            print(f"npgan: error: cannot write the lock {os.path.join(out, '.lock')}: {reason}; nothing was "
                  "written: free some space, then run the same command again", file=sys.stderr)
            return 1
        raise UsageError(f"cannot create or write the run directory {out}: {reason}") from None
    try:
        if stale is not None:
            print(f"npgan: note: took over the lock of {describe_owner(stale)}, which is no longer running "
                  f"(it stopped without releasing {lock.path})", file=sys.stderr)
        return _train_locked(args, out, config, changes, phase)
    finally:
        with guard.deferred():  # a signal raised inside release() could leave the lock behind
            lock.release()


def _train_locked(args, out, config, changes, phase):
    import numpy as np

    from npgan.checkpoint import CheckpointError
    from npgan.interrupt import SignalStop, StopOnSignals
    from npgan.models import KEEP_CHECKPOINTS
    from npgan.monitors import standard_monitors
    from npgan.restore import read_checkpoint
    from npgan.run import RunDirectoryError, TrainingInterrupted, keep_checkpoints_of, train_run
    from npgan.train import Trainer, TrainingDiverged

    checkpoint_path = os.path.join(out, "checkpoint.npz")
    keep_checkpoints = KEEP_CHECKPOINTS if args.keep_checkpoints is None else args.keep_checkpoints
    try:
        if args.resume:
            if not os.path.exists(checkpoint_path):
                raise UsageError(f"nothing to resume: {checkpoint_path} does not exist")
            checkpoint = read_checkpoint(checkpoint_path)
            if args.keep_checkpoints is None:  # not a hyperparameter: --keep-checkpoints may change it
                keep_checkpoints = keep_checkpoints_of(checkpoint)
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
            phase["training"] = "started"
            checkpoint = train_run(trainer, out, monitors=standard_monitors(dataset), progress=on_progress,
                                   on_log=on_log, keep_checkpoints=keep_checkpoints, stop_requested=stop)
        phase["training"] = "ended"
    except TrainingInterrupted as interrupted:
        _close(bar)
        print(f"npgan: {stop.signal_name}: stopped after iteration {interrupted.iteration} of {total}; checkpoint "
              f"written to {interrupted.checkpoint_path}. Resume with: {resume}", file=sys.stderr)
        return 128 + stop.signal_number
    except SignalStop as stopped:
        _close(bar)
        print(f"npgan: a second {stopped}: stopped at once; {_what_next(checkpoint_path, resume)}", file=sys.stderr)
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
        print(f"npgan: error: training stopped: cannot write into {out}: {error.strerror or error}; "
              f"{_what_next(checkpoint_path, resume)}", file=sys.stderr)
        return 1
    finally:
        _close(bar)
    written = [os.path.join(out, name) for name in ("config.json", "metrics.jsonl")] + [checkpoint]
    written += [path for path in (os.path.join(out, name) for name in ("samples.png", "curves.png"))
                if os.path.exists(path)]
    print(f"done: {', '.join(written)}")
    return 0


def _resume_command(out, data_dir):
    words = ["npgan", "train", "--resume", "--out", out] + (["--data-dir", data_dir] if data_dir else [])
    return " ".join(shlex.quote(word) for word in words)


def _what_next(checkpoint_path, resume):
    """After a stop: resume from the last checkpoint (written atomically, so whole) if there is
    one, else start afresh: --resume would find nothing to resume."""
    if os.path.exists(checkpoint_path):
        return f"the last checkpoint written ({checkpoint_path}) is kept. Resume with: {resume}"
    return "no checkpoint had been written yet: run the same command again (it starts afresh)"


def _close(bar):
    if bar is not None:
        bar.close()


def _resumed_config(checkpoint, args, changes):
    """The configuration a resume continues: the checkpoint's, with a new end from --iterations
    or --epochs, and generator averaging switched on if asked (it does not change training).
    Refuses other changed options; None if the run is already complete."""
    from npgan.restore import checkpoint_config

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


def _iterations(config, args):
    if args.epochs is not None:
        if config["iterations_per_epoch"] is None:
            raise UsageError(f"preset {config['preset']} trains on a stream of toy data and has no "
                             "epochs; use --iterations")
        return args.epochs * config["iterations_per_epoch"]
    return args.iterations if args.iterations is not None else config["iterations"]


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
                       "mode collapse? See samples.png and curves.png.")
            if bar is None:
                print(message, file=sys.stderr)
            else:
                bar.write(message, file=sys.stderr)

    return bar, (None if quiet else on_progress), on_log


def run_sweep(args):
    """Check Dask and every option, plan the runs (each configuration validated), skip the
    runs already complete, run the rest on the cluster, write results.csv and summary.md."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError('npgan sweep needs Dask distributed: pip install "npgan[distributed]" (from a clone: '
                         'pip install -e ".[distributed]")') from None
    from npgan import sweep
    from npgan.fileio import write_atomically

    out = args.out or os.path.join("runs", f"sweep-{args.preset}")  # "" is refused by the parser
    if args.scheduler is not None and args.workers is not None:
        raise UsageError("--workers is for the local cluster; with --scheduler the scheduler's workers run the sweep")
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a directory")
    try:
        if args.scheduler is not None:
            sweep.check_scheduler_address(args.scheduler)
        seeds = sweep.parse_seeds(args.seeds)
        grid = sweep.parse_grid(args.preset, args.grid)
        runs = sweep.plan_runs(args.preset, seeds, grid, out, iterations=args.iterations, data_dir=args.data_dir)
        check_data_dir(runs[0]["config"], args.data_dir)
        sweep.check_sweep_directory(out, runs)  # another sweep's results.csv and summary.md are not ours to replace
        done = {index: sweep.finished_result(run) for index, run in enumerate(runs)}
    except ValueError as error:
        raise UsageError(str(error)) from None
    from npgan.data.mnist import IMAGE_DATASETS

    if runs[0]["config"]["dataset"] in IMAGE_DATASETS:
        try:
            dataset_for(runs[0]["config"], args.data_dir)  # found (or downloaded) once, before the workers need it
        except ValueError as error:
            raise UsageError(str(error)) from None
    words = ["npgan", "sweep", "--preset", args.preset, "--seeds", args.seeds,
             *(["--grid", *args.grid] if args.grid else []),
             *(["--iterations", str(args.iterations)] if args.iterations else []),
             *(["--data-dir", args.data_dir] if args.data_dir else []), "--out", out]
    command = " ".join(shlex.quote(word) for word in words)
    created = not os.path.isdir(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the sweep directory {out}: {error.strerror or error}") from None
    try:
        sweep.write_sweep_record(out, args.preset, runs, command)
    except OSError as error:
        _remove_new_sweep_directory(out, created, sweep)
        print(f"npgan: error: cannot write into the sweep directory {out}: {error.strerror or error}; nothing "
              f"was run: free some space (or make {out} writable), then run the same command again", file=sys.stderr)
        return 1 if error.errno in _DISK_FULL else 2

    todo = [run for index, run in enumerate(runs) if done[index] is None]
    workers = args.workers or _cores()
    where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else \
        f"a local cluster of {workers} single-threaded worker{'s' if workers > 1 else ''}"
    print(f"sweep {args.preset}: {len(runs)} runs ({len(runs) - len(todo)} already done) into {out} on {where}",
          file=sys.stderr)
    started = time.perf_counter()
    try:
        new_results = _sweep_on_cluster(args, todo, sweep) if todo else []
    except UsageError:  # the scheduler cannot be reached: nothing ran
        _remove_new_sweep_directory(out, created, sweep)
        raise
    results = [done[index] for index in range(len(runs))]
    fresh = iter(new_results)
    results = [result if result is not None else next(fresh) for result in results]

    summary = sweep.summarise(runs, results)
    markdown = sweep.summary_markdown(args.preset, runs, summary, command=command)
    try:
        sweep.write_results_csv(os.path.join(out, "results.csv"), runs, results)
        write_atomically(os.path.join(out, "summary.md"), markdown)
    except OSError as error:
        print(f"npgan: error: cannot write the sweep's results into {out}: {error.strerror or error}; the runs "
              f"that finished are kept in their directories: free some space (or make {out} writable), then run "
              "the same command again (a finished run is not run again)", file=sys.stderr)
        return 1
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


def _remove_new_sweep_directory(out, created, sweep):
    """Undo a sweep directory this command created, if nothing but its record went in."""
    if created:
        try:
            os.remove(os.path.join(out, sweep.SWEEP_RECORD))
        except OSError:
            pass
        try:
            os.rmdir(out)
        except OSError:
            pass


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
        except (OSError, TimeoutError, ValueError) as error:
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
