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


# `python -m mml7 train TARGET` -> "module:function"; the function is called as
# fn(out_dir=Path, seed=int, quick=bool, progress=callable) and returns a summary dict that
# is printed. It writes the shipped weights of TARGET into out_dir (default mml7/weights).
TRAIN_TARGETS = {
    "segmentation": "mml7.segmentation:train_shipped",
    "autoencoders": "mml7.autoencoders:train_shipped",
}


def _train(args: argparse.Namespace) -> int:
    import importlib
    import json
    from pathlib import Path

    module_name, function_name = TRAIN_TARGETS[args.target].split(":")
    train = getattr(importlib.import_module(module_name), function_name)

    def progress(fraction: float, message: str = "") -> None:
        print(f"[{fraction:6.1%}] {message}", flush=True)

    out_dir = Path(args.out) if args.out else Path(__file__).parent / "weights"
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = train(out_dir=out_dir, seed=args.seed, quick=args.quick, progress=progress)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _add_train(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train the shipped demo models (reproducible)")
    parser.add_argument("target", choices=sorted(TRAIN_TARGETS))
    parser.add_argument("--out", help="folder for the weights (default: mml7/weights)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run, to check the pipeline")
    parser.set_defaults(handler=_train)


# One entry per subcommand; later subcommands append their ``_add_*`` here.
SUBCOMMANDS = [_add_status, _add_train]


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
