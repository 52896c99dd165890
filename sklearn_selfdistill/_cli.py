"""Command line: ``selfdistill`` (console script) or ``python -m sklearn_selfdistill``.

Subcommands are registered in ``SUBCOMMANDS``; ``illustrate`` (the default)
runs the paper's illustrative example (Sec. 4) on the paper's data. Every
argument is checked before any work: an invalid one is one line on stderr and
exit status 2; a run that fails (a missing dependency, no network, an error of
an estimator) is one line on stderr and exit status 1.
"""

import argparse
import sys
import warnings

from ._cli_args import CommandError, UsageError, one_line
from ._cli_kernel import add_compare, add_illustrate, add_sparsity, sparsity_table
from ._cli_nets import add_nets
from ._version import __version__
from .exceptions import SelfDistillationCollapseWarning

__all__ = ["main", "build_parser", "SUBCOMMANDS", "sparsity_table"]

PROG = "selfdistill"
DEFAULT_COMMAND = "illustrate"

SUBCOMMANDS = {
    "illustrate": add_illustrate,
    "sparsity": add_sparsity,
    "compare": add_compare,
    "nets": add_nets,
}

_TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")


class _Parser(argparse.ArgumentParser):
    """argparse, with each error on one line of stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)} "
                     f"(see '{self.prog} --help')\n")


def build_parser(prog=PROG):
    parser = _Parser(
        prog=prog,
        description="Self-distillation amplifies regularization in Hilbert space: "
        "reproductions of the paper's experiments.",
        epilog=(
            f"Without a subcommand, '{DEFAULT_COMMAND}' runs: '{prog} --epsilon "
            f"0.05' is '{prog} {DEFAULT_COMMAND} --epsilon 0.05'. "
            f"'{prog} SUBCOMMAND --help' lists the options of each. Exit status: "
            "0 on success, 2 for invalid arguments (checked before anything "
            "runs), 1 when a run fails."
        ),
    )
    parser.add_argument("--version", action="version",
                        version=f"sklearn-selfdistill {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", title="subcommands", metavar="SUBCOMMAND",
        description=f"(default: {DEFAULT_COMMAND})",
    )
    for name, add in SUBCOMMANDS.items():
        add(subparsers)
        subparsers.choices[name].set_defaults(parser=subparsers.choices[name])
    return parser


def main(argv=None, *, prog=PROG):
    """Run the command line on ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status of a run (0, or 1 when it failed); invalid
    arguments, ``--help`` and ``--version`` raise ``SystemExit`` as argparse
    does (status 2, 0 and 0).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in _TOP_LEVEL_OPTIONS):
        argv = [DEFAULT_COMMAND, *argv]
    args, unknown = build_parser(prog).parse_known_args(argv)
    command = args.parser
    try:
        if unknown:  # said by the subcommand, whose --help lists its options
            command.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.check(args)
    except UsageError as exc:
        command.error(str(exc))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SelfDistillationCollapseWarning)
            return args.func(args)
    except KeyboardInterrupt:
        print(f"{command.prog}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError) as exc:
        message = str(exc)
    except (MemoryError, OSError, RuntimeError) as exc:
        # Out of memory, a full disk, a CUDA error: the run failed, not the code.
        message = f"{type(exc).__name__}: {exc}"
    print(f"{command.prog}: error: {one_line(message)}", file=sys.stderr)
    return 1
