"""The `npgan` command line (argparse). Each command parses and validates its options,
calls the library and prints; no numerics live here.

Exit codes: 0 success; 1 a check failed, or training stopped on an error it cannot
get past (divergence, a full disk), or an output could not be written for want of space;
2 bad usage or bad input (a one-line message on stderr, no traceback), checked before any
work starts where the input allows; 130 / 143 training stopped by SIGINT / SIGTERM after
writing a checkpoint.

Every output file a command writes (--out of sample, export, figure) passes check_output
first and is written atomically (npgan.fileio): it is exactly --out, never a symlink, a
directory, a FIFO or a device node, never a checkpoint; a failed write leaves the old file.
"""

import errno
import importlib
import json
import os
import signal
import sys
import time

from npgan import __version__
from npgan.cli_options import (
    ArgumentParser,
    UsageError,
    add_data_dir_option,
    add_generator_option,
    count,
    dataset_for,
    non_negative_int,
    positive_int,
)
from npgan.cli_train import add_sweep_command, add_train_command


def main(argv=None):
    try:
        try:
            importlib.import_module("npgan.kernels")  # reads NPGAN_KERNELS: a bad value is one line, exit 2
        except (ValueError, ImportError) as error:
            print(f"npgan: error: {error}", file=sys.stderr)
            return 2
        parser = build_parser()  # imports numpy and the presets: a Ctrl-C here is "interrupted" too
        args = parser.parse_args(argv)
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
    from npgan.data.mnist import DATASETS

    parser = ArgumentParser(
        prog="npgan",
        description="Generative Adversarial Nets (Goodfellow et al., 2014) in NumPy, "
                    "with hand-written, gradient-checked backprop.",
    )
    parser.add_argument("--version", action="version", version=f"npgan {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    add_train_command(commands)

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
        "modes", help="mode coverage of a toy or Stacked MNIST generator (VEEGAN's metrics)",
        description="A toy checkpoint: modes captured and the share of samples within 3 std of their nearest mode, "
                    "of 2,500 samples. A stacked-mnist one: of the 1,000 digit triples, those reached, and KL(mode "
                    "histogram || uniform) in nats, of 26,000 samples whose channels npgan's MNIST classifier reads.")
    modes.add_argument("--checkpoint", required=True)
    modes.add_argument("--samples", type=count, help="number of samples (default: 2500; stacked-mnist: 26000)")
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
    quality = metrics.add_parser(
        "quality", help="Frechet distance, precision, recall, classes covered and copies of an image generator",
        description="On --samples samples of G, in the features of npgan's shipped classifier "
                    "(docs/quality.md): the class histogram, classes covered (>= 1% of samples), KL to uniform, "
                    "the Frechet distance to the test set, precision and recall (k = 3), and the share of "
                    "samples nearer a training image than the test set's 1st percentile; beside the same "
                    "for real training images (reference).")
    quality.add_argument("--checkpoint", required=True, help="a checkpoint.npz of an MNIST or Fashion-MNIST run")
    add_data_dir_option(quality)
    quality.add_argument("--samples", type=count, default=10000, help="samples of G (default: 10000)")
    quality.add_argument("--seed", type=non_negative_int, default=0, help="seed of the noise (default: 0)")
    quality.add_argument("--classifier", metavar="FILE", help="a classifier of npgan train-classifier (default: "
                                                               "the one shipped for the checkpoint's dataset)")
    quality.add_argument("--json", action="store_true", help="print a JSON object")
    add_generator_option(quality)
    quality.set_defaults(run=run_evaluate_quality)
    classifier = metrics.add_parser(
        "classifier", help="the accuracy of the classifier the quality metrics use",
        description="Validation and test accuracy of the classifier shipped for --dataset (or of --classifier).")
    classifier.add_argument("--dataset", choices=tuple(DATASETS),
                            help="(default: mnist, or the dataset of --classifier)")
    add_data_dir_option(classifier)
    classifier.add_argument("--classifier", metavar="FILE", help="a classifier of npgan train-classifier")
    classifier.add_argument("--json", action="store_true", help="print a JSON object")
    classifier.set_defaults(run=run_evaluate_classifier)

    train_classifier = commands.add_parser(
        "train-classifier", help="train the classifier of the quality metrics (npgan's layers, seeded)",
        description="Train the maxout classifier of npgan evaluate quality on the 50,000 training images, "
                    "keeping the epoch of the best validation accuracy (the test set is only reported), and "
                    "write it to --out (docs/quality.md).")
    train_classifier.add_argument("--dataset", choices=tuple(DATASETS), default="mnist", help="(default: mnist)")
    add_data_dir_option(train_classifier)
    train_classifier.add_argument("--seed", type=non_negative_int, default=0, help="(default: 0)")
    train_classifier.add_argument("--epochs", type=positive_int, help="most epochs (default: 60)")
    train_classifier.add_argument("--out", required=True, help="output .npz file")
    train_classifier.set_defaults(run=run_train_classifier)

    figure = commands.add_parser(
        "figure", help="draw a figure of the paper, or a run's training curves",
        description="1: Figure 1 from a real 1-D run; saturation: the generator gradients of section 3; "
                    "2: samples of a trained image generator beside the nearest training example; "
                    "3: rows of G(z) along linear interpolations between random z; divergences: G fitted to "
                    "two modes under each f-divergence (six real runs, a few minutes); curves: the training "
                    "curves of a run directory (--run DIR) from its metrics.jsonl: the losses, mean D(x) and "
                    "D(G(z)), the sample diversity and, for image runs, the quick Parzen estimate (every run "
                    "also writes them as curves.png at each checkpoint).")
    figure.add_argument("name", choices=["1", "2", "3", "saturation", "divergences", "curves"])
    figure.add_argument("--out", help="output PNG (default: figure-<name>.png; for curves, DIR/curves.png)")
    figure.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the run behind Figure 1, of the noise of Figures 2 and 3 (default: 0)")
    figure.add_argument("--checkpoint", help="Figures 2 and 3: a checkpoint of an MNIST or Fashion-MNIST run")
    figure.add_argument("--run", dest="run_dir", metavar="DIR",
                        help="curves: a run directory of npgan train or npgan sweep (its --out)")
    add_data_dir_option(figure)
    add_generator_option(figure)
    figure.set_defaults(run=run_figure)

    add_sweep_command(commands)

    gradcheck = commands.add_parser(
        "gradcheck", help="check every layer, loss and whole G and D step against finite differences",
        description="Compare every hand-written derivative (each layer, each loss, the D and G steps of "
                    "Algorithm 1 in both update orders) with centred finite differences. Exits 1 if any "
                    "check is over its threshold. --full-size checks the D and G steps (both update orders, "
                    "both G losses) of the paper-mnist networks at their real sizes instead, in directional "
                    "mode (docs/gradcheck.md).")
    gradcheck.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    gradcheck.add_argument("--seed", type=non_negative_int, default=0,
                           help="seed of the random networks and inputs (default: 0)")
    gradcheck.add_argument("--full-size", action="store_true",
                           help="the paper-mnist G (100-1200-1200-784) and D (maxout 240x5 twice) steps, "
                                "float64, along random directions: element-wise and norm-wise errors")
    gradcheck.set_defaults(run=run_gradcheck)
    return parser


# -- the commands (npgan train and npgan sweep: npgan.cli_train) ----------------------------------

def run_sample(args):
    import numpy as np

    from npgan.fileio import atomic_write

    check_output(args.out)
    gan, _ = _load_gan(args.checkpoint, generator=args.generator)
    samples = gan.sample(args.n, np.random.default_rng(args.seed))
    try:
        with atomic_write(args.out, "wb") as handle:  # exactly --out: np.save to a name would add .npy
            np.save(WritesOnly(handle), samples)
    except OSError as error:
        return write_failed(args.out, error)
    print(f"wrote {samples.shape[0]} samples of dimension {samples.shape[1]} to {args.out}")
    return 0


def run_export(args):
    from npgan.checkpoint import CheckpointError
    from npgan.restore import export_generator, read_checkpoint

    check_output(args.out, replaces_generator=True)
    try:
        gan = export_generator(read_checkpoint(args.checkpoint), args.out, args.generator)
    except (ValueError, CheckpointError) as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        return write_failed(args.out, error)
    size = sum(value.nbytes for value in gan.params.values())
    print(f"wrote G ({len(gan.params)} arrays, {size / 2**20:.1f} MiB of parameters) to {args.out} "
          f"({os.path.getsize(args.out) / 2**20:.1f} MiB)")
    return 0


def run_evaluate_modes(args):
    import numpy as np

    from npgan.data.toy import TOY_DISTRIBUTIONS
    from npgan.evaluate.modes import STACKED_SAMPLES, evaluate_stacked, evaluate_toy, format_stacked

    gan, config = _load_gan(args.checkpoint, (*TOY_DISTRIBUTIONS, "stacked-mnist"), "mode coverage needs a toy "
                            "checkpoint or a stacked-mnist one", generator=args.generator)
    rng, stacked = np.random.default_rng(args.seed), config["dataset"] == "stacked-mnist"
    try:
        if stacked:
            coverage = evaluate_stacked(gan, _load_classifier(None, "mnist"), args.samples or STACKED_SAMPLES, rng)
        else:
            toy = TOY_DISTRIBUTIONS[config["dataset"]]
            coverage = evaluate_toy(gan.sample(args.samples or 2500, rng), toy)
    except ValueError as error:
        raise UsageError(f"the samples of G from {args.checkpoint}: {error}") from None
    if stacked:
        result = {**coverage.as_dict(), "checkpoint": args.checkpoint, "seed": args.seed}
        print(json.dumps(result) if args.json else format_stacked(result))
        return 0
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
    samples = gan.sample(args.samples, np.random.default_rng(args.seed))
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


def run_evaluate_quality(args):
    import numpy as np

    from npgan.data.mnist import DATASETS
    from npgan.evaluate.quality import NEIGHBOURS, evaluate_quality, format_quality

    if args.samples <= NEIGHBOURS:
        raise UsageError(f"--samples {args.samples}: precision and recall need more than {NEIGHBOURS} samples "
                         f"(their {NEIGHBOURS} nearest neighbours)")
    started = time.perf_counter()
    gan, config = _load_gan(args.checkpoint, DATASETS, "the quality metrics need an image checkpoint "
                            "(MNIST or Fashion-MNIST)", generator=args.generator)
    classifier = _load_classifier(args.classifier, config["dataset"])
    dataset = _image_data(config, args.data_dir)
    sampling_started = time.perf_counter()
    samples = gan.sample(args.samples, np.random.default_rng(args.seed))
    sampling_seconds = time.perf_counter() - sampling_started
    try:
        result = evaluate_quality(samples, classifier, test_images=dataset.rows("test", slice(None)),
                                  reference_images=dataset.rows("train", slice(0, 10000)),
                                  training_images=dataset.pixels["train"].images)
    except ValueError as error:
        raise UsageError(f"the samples of G from {args.checkpoint}: {error} (did training diverge?)") from None
    result.update(dataset=dataset.name, checkpoint=args.checkpoint, seed=args.seed,
                  classifier=args.classifier or f"shipped ({dataset.name})", sampling_seconds=sampling_seconds,
                  total_seconds=time.perf_counter() - started)
    print(json.dumps(result) if args.json else format_quality(result))
    return 0


def run_evaluate_classifier(args):
    classifier = _load_classifier(args.classifier, args.dataset)
    dataset = _image_data(classifier.config, args.data_dir)
    started = time.perf_counter()
    result = {"dataset": dataset.name, "classifier": args.classifier or f"shipped ({dataset.name})",
              "validation_accuracy": classifier.accuracy(dataset.validation, dataset.validation_labels),
              "test_accuracy": classifier.accuracy(dataset.test, dataset.test_labels),
              "epoch": classifier.state.get("epoch"), "seconds": time.perf_counter() - started}
    print(json.dumps(result) if args.json else
          f"{result['classifier']} classifier of {dataset.name} (epoch {result['epoch']}): validation accuracy "
          f"{100 * result['validation_accuracy']:.2f}%, test accuracy {100 * result['test_accuracy']:.2f}%")
    return 0


def run_train_classifier(args):
    from npgan.evaluate.classifier import save_classifier
    from npgan.evaluate.classifier_training import train_classifier
    from npgan.optim import NonFiniteGradient

    check_output(args.out, replaces_classifier=True)
    dataset = _image_data({"dataset": args.dataset}, args.data_dir)
    started = time.perf_counter()

    def report(record):
        print(f"epoch {record['epoch']:3d}  train loss {record['train_loss']:.4f}  validation accuracy "
              f"{100 * record['validation_accuracy']:.2f}%  ({record['seconds']:.1f} s)", flush=True)

    try:
        classifier = train_classifier(dataset, seed=args.seed, epochs=args.epochs, progress=report)
    except NonFiniteGradient as error:
        print(f"npgan: error: training diverged ({error}); nothing was written", file=sys.stderr)
        return 1
    test_accuracy = classifier.accuracy(dataset.test, dataset.test_labels)  # reported, never a choice
    classifier.state.update(test_accuracy=test_accuracy, seconds=time.perf_counter() - started)
    try:
        save_classifier(args.out, classifier)
    except OSError as error:
        return write_failed(args.out, error)
    print(f"wrote {args.out}: epoch {classifier.state['epoch']} (best validation accuracy "
          f"{100 * classifier.state['validation_accuracy']:.2f}%), test accuracy {100 * test_accuracy:.2f}%, "
          f"{classifier.state['seconds'] / 60:.1f} min")
    return 0


def run_figure(args):
    if args.data_dir is not None and args.name != "2":
        raise UsageError("--data-dir is for figure 2 (its nearest training examples)")
    if args.name == "curves":
        return run_figure_curves(args)
    if args.run_dir is not None:
        raise UsageError(f"--run is for figure curves (a run's training curves); figure {args.name} takes no --run")
    from npgan.data.mnist import DATASETS
    from npgan.paper_figures import divergences_figure, figure1, figure2, figure3, saturation_figure

    out = args.out if args.out is not None else f"figure-{args.name}.png"
    needs_checkpoint = args.name in ("2", "3")
    if needs_checkpoint != (args.checkpoint is not None):
        raise UsageError(f"figure {args.name} {'needs' if needs_checkpoint else 'takes no'} --checkpoint")
    check_output(out)
    if needs_checkpoint:
        gan, config = _load_gan(args.checkpoint, DATASETS, f"figure {args.name} needs an image generator (MNIST "
                                "or Fashion-MNIST)", generator=args.generator)
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
        return write_failed(out, error)
    print(f"wrote {out} ({time.perf_counter() - started:.1f} s)")
    return 0


def run_figure_curves(args):
    """npgan figure curves --run DIR: the training curves of a run directory, from its metrics.jsonl
    (npgan.run.read_metrics: a torn last line left out, any other damaged line refused) and its
    config.json, drawn as the run draws curves.png (npgan.monitors.curves_figure); to --out, or
    to DIR/curves.png."""
    from npgan.monitors import curves_figure
    from npgan.run import RunDirectoryError, read_metrics
    from npgan.runlock import read_json

    if args.checkpoint is not None:
        raise UsageError("figure curves takes no --checkpoint: it reads the run directory given by --run "
                         "(its metrics.jsonl and config.json)")
    if args.run_dir is None:
        raise UsageError("figure curves needs --run DIR: the run directory npgan train wrote (its --out)")
    run_dir = args.run_dir
    if not os.path.isdir(run_dir):
        what = "is not a directory" if os.path.lexists(run_dir) else "does not exist"
        raise UsageError(f"--run {run_dir}: it {what}; give the run directory npgan train wrote (its --out)")
    out = args.out if args.out is not None else os.path.join(run_dir, "curves.png")
    check_output(out)
    metrics_path = os.path.join(run_dir, "metrics.jsonl")
    try:
        records, torn = read_metrics(metrics_path)
    except FileNotFoundError:
        raise UsageError(f"{run_dir} has no metrics.jsonl: is it a run directory of npgan train (its --out)?") from None
    except RunDirectoryError as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"cannot read {metrics_path}: {error.strerror or error}") from None
    if not records:
        raise UsageError(f"{metrics_path} holds no metrics record yet (the first comes after log_every "
                         "iterations): nothing to draw")
    config_path = os.path.join(run_dir, "config.json")
    config = read_json(config_path)
    if not isinstance(config, dict) or not {"preset", "seed", "generator_loss"} <= set(config):
        raise UsageError(f"{config_path} is missing or damaged (npgan train writes it when a run starts): "
                         "is it a run directory of npgan train?")
    started = time.perf_counter()
    try:
        curves_figure(config, records, out)
    except ValueError as error:
        raise UsageError(f"{config_path}: {error}") from None
    except OSError as error:
        return write_failed(out, error)
    first, last = records[0]["iteration"], records[-1]["iteration"]
    drawn = (f"{len(records)} records, iterations {first} to {last}" if len(records) > 1
             else f"1 record, iteration {last}")
    note = "; its last line, torn mid-write, left out" if torn else ""
    print(f"wrote {out} from {metrics_path}: {drawn}{note} ({time.perf_counter() - started:.1f} s)")
    return 0


def run_gradcheck(args):
    import npgan.gradcheck as gradcheck

    started = time.perf_counter()
    results = gradcheck.run_full_size(seed=args.seed) if args.full_size else gradcheck.run_all(seed=args.seed)
    seconds = time.perf_counter() - started
    failed = [result for result in results if not result.ok]
    if args.json:
        print(json.dumps([result.as_dict() for result in results], indent=1))
    else:
        print(gradcheck.format_results(results, norm=args.full_size))
        verdict = "all passed" if not failed else f"{len(failed)} FAILED"
        what = (f"directional, {gradcheck.DIRECTIONS} directions per array, passing on norm_error; "
                if args.full_size else "")
        print(f"\n{len(results)} checks, {verdict} ({what}seed {args.seed}, {seconds:.1f} s)")
    return 1 if failed else 0


# -- helpers ---------------------------------------------------------------------------------------

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # a failed write (exit 1); other OSErrors: a bad --out


def check_output(path, replaces_generator=False, replaces_classifier=False):
    """The check of every output file the commands write (--out of sample, export and figure),
    before any work: npgan.fileio.check_output_path (not empty, its directory there, new or a
    regular file: never a symlink, directory, FIFO or device node), and never an npgan training
    checkpoint (it is what a run resumes from), nor an exported generator unless
    ``replaces_generator`` (npgan export writing a new one). UsageError saying what to do."""
    from npgan.evaluate.classifier import is_classifier_file
    from npgan.fileio import check_output_path
    from npgan.restore import checkpoint_kind

    try:
        check_output_path(path)
    except ValueError as error:
        raise UsageError(str(error)) from None
    kind = checkpoint_kind(path) if os.path.isfile(path) else None
    if replaces_classifier and kind == "training" and is_classifier_file(path):
        kind = None  # npgan train-classifier replacing a classifier it wrote
    if kind == "training" or (kind == "generator" and not replaces_generator):
        what = ("a training checkpoint (a run resumes from it)" if kind == "training" else
                "an exported generator")
        raise UsageError(f"cannot write {path}: it is {what}, and npgan never replaces a checkpoint with "
                         "another file: choose another --out (or move the checkpoint away first)")


class WritesOnly:
    """A file's write method alone. np.save writes a real file with C's fwrite, whose failure says
    "200000 requested and 16352 written" and loses the reason; through .write (16 MiB chunks) a
    failed write raises its OSError with errno (ENOSPC, EFBIG)."""

    def __init__(self, handle):
        self.write = handle.write


def write_failed(path, error):
    """Report an output the write of which failed (atomic: the old file, if any, is unchanged):
    one line, exit 1 for a full disk or quota (EFBIG included), 2 for any other reason (a bad --out)."""
    kept = f"{path} is unchanged" if os.path.lexists(path) else "nothing was written"
    print(f"npgan: error: cannot write {path}: {error.strerror or error}; {kept}", file=sys.stderr)
    return 1 if error.errno in _DISK_FULL else 2


def _load_gan(path, datasets=None, purpose=None, generator="average"):
    """The GAN of the checkpoint at ``path`` (npgan.restore.gan_from_checkpoint) and its
    configuration. With ``datasets``, the checkpoint must have been trained on one of
    them, else "<purpose>; <path> was trained on ..."."""
    from npgan.checkpoint import CheckpointError
    from npgan.restore import checkpoint_config, gan_from_checkpoint, read_checkpoint

    try:
        checkpoint = read_checkpoint(path)
        gan, config = gan_from_checkpoint(checkpoint, generator), checkpoint_config(checkpoint)
    except (ValueError, CheckpointError) as error:
        raise UsageError(str(error)) from None
    if datasets is not None and config["dataset"] not in datasets:
        raise UsageError(f"{purpose}; {path} was trained on {config['dataset']}")
    return gan, config


def _load_classifier(path, dataset=None):
    """The classifier in ``path`` (npgan.evaluate.classifier.load_classifier), or the one shipped for
    ``dataset`` when ``path`` is None; it must be a classifier of ``dataset`` when that is given."""
    from npgan.evaluate.classifier import load_classifier, shipped_classifier

    try:
        classifier = load_classifier(path) if path else shipped_classifier(dataset or "mnist")
    except ValueError as error:
        raise UsageError(f"the classifier: {error}") from None
    if dataset is not None and classifier.dataset != dataset:
        raise UsageError(f"{path} is a classifier of {classifier.dataset}, and this needs one of {dataset}")
    return classifier


def _image_data(config, data_dir):
    """The image dataset of ``config`` (cli_options.dataset_for), its errors one line."""
    try:
        return dataset_for(config, data_dir)
    except ValueError as error:
        raise UsageError(str(error)) from None
