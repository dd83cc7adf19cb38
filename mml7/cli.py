"""``python -m mml7``: the package's command line.

Each subcommand is one ``_add_*`` function below that registers its parser and handler;
heavy imports happen inside handlers so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys


def _status(args: argparse.Namespace) -> int:
    from mml7.resources import machine_status

    for row in machine_status():
        print(f"{row.kind:8} {row.name:34} {row.state:14} {row.detail}")
    return 0


def _add_status(subparsers) -> None:
    parser = subparsers.add_parser("status", help="data sets and ImageNet weights on this machine")
    parser.set_defaults(handler=_status)


# One entry per subcommand; later subcommands append their ``_add_*`` here.
SUBCOMMANDS = [_add_status]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mml7", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from mml7.errors import DatasetUnavailable, InputError

    try:
        return args.handler(args)
    except (InputError, DatasetUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
