"""`python -m npgan` is the `npgan` command."""

import sys

from npgan.cli import main

sys.exit(main())
