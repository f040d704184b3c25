"""The command line (`python -m seg_core ...`): ``parser`` (argparse; train's flags from TrainConfig's settings),
``commands`` (one function per command, calling the engine), ``output`` (printing, exit codes, Ctrl-C). On top of everything.
"""
from __future__ import annotations

import sys

from seg_core.cli import output
from seg_core.cli.commands import COMMANDS
from seg_core.cli.parser import command_of, parser


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m seg_core`` with ``argv`` (default: the process's); returns the exit code."""
    output.quiet_libraries()
    argv = sys.argv[1:] if argv is None else argv
    args = parser(command_of(argv)).parse_args(argv)  # only this command's flags: no torch for what needs none
    return output.run(COMMANDS[args.command], args)
