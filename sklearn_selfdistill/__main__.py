"""``python -m sklearn_selfdistill``: see :mod:`sklearn_selfdistill._cli`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
