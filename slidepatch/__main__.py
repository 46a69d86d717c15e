"""``python -m slidepatch``: the command line."""

import sys

from slidepatch.cli import main

if __name__ == "__main__":
    sys.exit(main())
