"""The `npgan` command line (argparse). Each command parses, validates, calls the
library and prints; no numerics live here.

Exit codes: 0 success, 1 a check or run failed, 2 bad usage or bad input.
"""

import argparse
import json
import sys
import time

from npgan import __version__


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("npgan: interrupted", file=sys.stderr)
        return 130


def build_parser():
    parser = argparse.ArgumentParser(
        prog="npgan",
        description="Generative Adversarial Nets (Goodfellow et al., 2014) in NumPy, "
                    "with hand-written, gradient-checked backprop.",
    )
    parser.add_argument("--version", action="version", version=f"npgan {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    gradcheck = commands.add_parser(
        "gradcheck",
        help="check every layer, loss and whole G and D step against finite differences",
        description="Compare every hand-written derivative (each layer, each loss, the D "
                    "and G steps of Algorithm 1 in both update orders) with centred finite "
                    "differences. Exits 1 if any check is over its threshold.",
    )
    gradcheck.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    gradcheck.add_argument("--seed", type=_non_negative_int, default=0,
                           help="seed of the random networks and inputs (default: 0)")
    gradcheck.set_defaults(run=run_gradcheck)
    return parser


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


def format_table(results):
    header = ("check", "parameter", "rel_error", "threshold", "skipped", "")
    rows = [(r.check, r.parameter, f"{r.rel_error:.2e}", f"{r.threshold:.0e}",
             f"{r.skipped}/{r.checked + r.skipped}", "ok" if r.ok else "FAIL") for r in results]
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in [header] + rows]
    return "\n".join(lines)


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value
