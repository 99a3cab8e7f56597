"""What the commands of `npgan` share: the bad-input error, the option types and the options
several commands take, the check of a data directory (output files: npgan.cli.check_output).

A UsageError is bad input found after parsing: `npgan` reports it as one line on stderr and
exits 2. The option types (count, positive_int, ...) are argparse ``type=`` callables: a bad
value is refused by the parser itself (ArgumentParser: the same one line, exit 2).
"""

import argparse
import math
import os


class UsageError(Exception):
    """Bad input found after parsing: reported as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with npgan's form of a rejection: one line on stderr, "npgan: error: <what>
    (see <command> --help)", exit 2; the usage is printed by --help only. Subparsers made by
    add_subparsers are of this class too (argparse gives them the parent's class)."""

    def error(self, message):
        self.exit(2, f"npgan: error: {' '.join(message.split())} (see {self.prog} --help)\n")


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

    check_data_dir(config, data_dir)
    return load_dataset(config["dataset"], data_dir)


def check_data_dir(config, data_dir):
    from npgan.data.mnist import IMAGE_DATASETS

    if data_dir is not None and config["dataset"] not in IMAGE_DATASETS:
        raise UsageError(f"--data-dir is for MNIST and Fashion-MNIST; {config['dataset']} is generated")


MAX_COUNT = 10**7  # samples, images or a minibatch: more is a typo, not a plan


def count(text):
    """A number of samples, images or rows: 1 to MAX_COUNT."""
    value = positive_int(text)
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_COUNT:,}, got {value:,}")
    return value


def output_directory(text):
    """A directory to write into (--out of train and sweep): any path but the empty one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty; give a directory")
    return text


def existing_directory(text):
    if not text:
        raise argparse.ArgumentTypeError("the path is empty; give a directory")
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
