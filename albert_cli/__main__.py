"""``python -m albert_cli``: the ``albert`` command."""

import sys

from albert_cli.cli import main

if __name__ == "__main__":
    sys.exit(main())
