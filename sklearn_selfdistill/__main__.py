"""``python -m sklearn_selfdistill``, the same as the ``selfdistill`` command.

See :mod:`sklearn_selfdistill._cli`.
"""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m sklearn_selfdistill"))
