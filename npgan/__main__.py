"""`python -m npgan` and the `npgan` command (setup.cfg's console script: npgan.__main__:run)."""

import sys


def run():
    """Import the command line and run it; a Ctrl-C while Python imports it ends in one line."""
    try:
        from npgan.cli import main
    except KeyboardInterrupt:  # no traceback
        sys.stderr.write("npgan: interrupted\n")
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
