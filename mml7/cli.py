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


def _train(args: argparse.Namespace) -> int:
    import json

    from mml7 import progress, shipped

    record = shipped.train(
        args.target, args.out, seed=args.seed, quick=args.quick, progress=progress.printer()
    )
    print(json.dumps(record, indent=2, default=str))
    return 0


def _add_train(subparsers) -> None:
    from mml7 import shipped

    parser = subparsers.add_parser("train", help="train the shipped demo models (reproducible)")
    parser.add_argument("target", choices=shipped.FAMILIES)
    parser.add_argument("--out", help="folder for the weights (default: mml7/weights)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run, to check the pipeline")
    parser.set_defaults(handler=_train)


def _advise_suite(args: argparse.Namespace) -> int:
    """``advise --suite``: the rules' hit rates and regrets on the report cases."""
    from mml7 import transfer
    from mml7.progress import printer
    from mml7.transfer import suite

    config = transfer.ExperimentConfig(image_size=args.image_size, max_train_images=args.max_train)
    cases, sizes, seeds = suite.builtin_cases(), suite.SIZES, suite.SEEDS
    if args.quick:  # the pipeline end to end in about a minute
        config = transfer.ExperimentConfig(
            image_size=32, hidden_units=16, head_epochs=5, fine_tune_epochs=1, scratch_epochs=1
        )
        cases = [case for case in suite.builtin_cases(100) if case.name == "Digits (8x8)"]
        sizes, seeds = (10,), (0,)
    for case in cases:
        if case.note:
            print(f"{case.name}: {case.note}")
    runs = suite.run_suite(args.suite_out, cases, sizes, seeds, config, printer(sys.stderr))
    found = suite.summary(runs, report_only=not args.quick)
    scope = "every case" if args.quick else f"report cases (designed on {suite.DESIGN_CASES})"
    print(f"{len(runs)} runs; scored on {scope}")
    print(f"  {'rule':18} {'cases':>5} {'hit rate':>8} {'mean regret':>11} {'worst':>7}")
    for rule, row in found["rules"].items():
        print(
            f"  {rule:18} {row['cases']:5} {row['hit_rate']:8.1%} "
            f"{row['mean_regret']:11.1%} {row['worst_regret']:7.1%}"
        )
    print(f"measurements cost {found['cost_ratio']:.0%} of running every strategy (median)")
    return 0


def _advise(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from mml7 import backbones, transfer
    from mml7.errors import InputError
    from mml7.progress import printer
    from mml7.transfer import measured

    if args.suite:
        return _advise_suite(args)
    if args.path is None:
        raise InputError("advise needs a data set (a path or a built-in name), or --suite")
    progress = printer(sys.stderr)
    config = transfer.ExperimentConfig(
        backbone=args.backbone,
        image_size=args.image_size,
        seed=args.seed,
        max_train_images=args.max_train,
    )
    if args.path in transfer.BUILTIN_DATASETS and not Path(args.path).exists():
        dataset = transfer.load_dataset(args.path)
    else:
        dataset = transfer.read_path(args.path, image_size=args.image_size)
    counts = dataset.images_per_class()
    print(
        f"data set: {dataset.name}: {len(dataset):,} images, {dataset.num_classes} classes, "
        f"{counts.min():,}-{counts.max():,} per class"
    )
    advice = transfer.advise(
        dataset, big_threshold=args.big_threshold, progress=progress, config=config
    )
    print(
        f"ImageNet similarity: {advice.similarity:.3f} (threshold {transfer.SIMILARITY_THRESHOLD})"
    )
    cuts = backbones.spec(args.backbone).cut_names
    features = transfer.dataset_features(dataset, config, tuple(cuts), progress)
    probe = transfer.sample_indices(dataset.labels, args.probe_images, args.seed)
    scores = transfer.transferability(
        {cut: f[probe] for cut, f in features.items()}, dataset.labels[probe], args.seed
    )
    print(f"transferability of frozen {args.backbone} features ({len(probe):,} images):")
    for score in scores:
        print(
            f"  {score.cut:10} d={score.dimensions:5}  linear probe {score.probe_accuracy:.3f}"
            f"  LogME {score.logme:+.3f}"
        )
    cut = transfer.recommended_cut(scores)
    config = dataclasses.replace(config, cut=cut, ensemble_cut=transfer.ensemble_cut(scores, cut))
    print(f"cut at: {cut} (ensemble partner: {config.ensemble_cut})")
    print(f"advice: {advice.reason}")
    signals = measured.measure_signals(dataset, config, features, args.probe_fine_tune, progress)
    chosen = measured.predict(signals)
    print(f"measured recommendation: {chosen.strategy} ({chosen.reason})")
    if args.run:
        result = transfer.run_experiments(dataset, config, features, progress)
        print(f"experiments: {result.num_train:,} train / {result.num_validation:,} validation")
        print(f"  {'strategy':34} {'val acc':>8} {'trainable':>10} {'time s':>7}")
        for row in result.rows:
            print(
                f"  {row['strategy']:34} {row['validation_accuracy']:8.3f} "
                f"{row['trainable_params']:10,} {row['wall_time_s']:7.1f}"
            )
        learning = transfer.learning_curve(
            dataset, advice.strategy, config, features, progress=progress
        )
        print(
            "learning curve of the advised strategy: "
            + ", ".join(f"{p['train_images']:,} images {p['accuracy']:.3f}" for p in learning)
        )
        print(transfer.verdict(advice, result.rows, learning, result.num_validation).sentence)
        if args.json:
            _print_contract(dataset, config, features, advice, chosen, result, learning)
    return 0


def _print_contract(dataset, config, features, advice, chosen, result, learning) -> None:
    """The last line of ``advise --run --json``: ``measured.contract`` as one JSON object.
    "Collect more data" is judged on the head's learning curve (measured here when the
    textbook's advice did not already need it)."""
    import json

    from mml7 import transfer
    from mml7.transfer import measured

    if advice.strategy is not transfer.Strategy.COLLECT_MORE_DATA:
        learning = []
        if chosen.strategy == "collect_more_data":
            head = transfer.Strategy.COLLECT_MORE_DATA  # the head on frozen features
            learning = transfer.learning_curve(dataset, head, config, features)
    points = [(point["train_images"], point["accuracy"]) for point in learning]
    payload = measured.contract(advice, chosen, result.rows, points, result.num_validation)
    print(json.dumps(payload))


def _add_advise(subparsers) -> None:
    from mml7 import backbones, transfer

    parser = subparsers.add_parser(
        "advise", help="measure a data set, advise a transfer-learning strategy (and test it)"
    )
    parser.add_argument(
        "path", nargs="?", help="zip or folder of class folders, or a built-in data set name"
    )
    parser.add_argument(
        "--suite",
        action="store_true",
        help="run the built-in cases at several sizes and seeds and score four rules",
    )
    parser.add_argument(
        "--suite-out",
        default="advisor_suite.jsonl",
        help="the suite's results, one JSON line per run (a rerun resumes)",
    )
    parser.add_argument("--quick", action="store_true", help="with --suite: a tiny suite")
    parser.add_argument("--run", action="store_true", help="run the four strategies")
    parser.add_argument(
        "--json",
        action="store_true",
        help="with --run: print the advice and the results as one JSON object, last line",
    )
    parser.add_argument(
        "--probe-fine-tune",
        action="store_true",
        help="measure a one-epoch fine-tune for the measured recommendation (slower; on "
        "the suite it changed no recommendation)",
    )
    parser.add_argument("--backbone", default=backbones.DEFAULT_BACKBONE)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--big-threshold", type=int, default=transfer.BIG_THRESHOLD)
    parser.add_argument("--probe-images", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-train", type=int, default=None, help="stratified cap on the training images"
    )
    parser.set_defaults(handler=_advise)


def _measure(args: argparse.Namespace) -> int:
    from mml7 import progress
    from mml7.segmentation import weights

    if args.target == "autoencoders":
        from mml7.autoencoders import figures

        record = figures.precompute(args.out, progress.printer())
        print(f"  seconds: {record['seconds']}")
        print(f"wrote {figures.PCA_FILE}, {figures.FIGURES_FILE} and {figures.VIEWS_FILE}")
        return 0

    if args.target == "similarity":
        from mml7.similarity import precomputed

        record = precomputed.precompute(path=args.out, progress=progress.printer())
        for name, seconds in record["seconds"].items():
            print(f"  {name}: {seconds:.0f} s")
        print(f"wrote {args.out or precomputed.PRECOMPUTED_FILE}")
        return 0

    if args.target == "advisor":
        from mml7 import transfer
        from mml7.transfer import measured

        names = [name for name in transfer.BUILTIN_DATASETS if _available(name)]
        record = measured.precompute(names, args.out, progress.printer())
        for name, seconds in record["seconds"].items():
            print(f"  {name}: {seconds:.0f} s")
        print(f"wrote {args.out or measured.PRECOMPUTED_FILE}")
        return 0

    if args.predictions:
        written = weights.precompute_predictions(args.out)
        print(f"wrote {len(written)} models' predictions to {weights.PREDICTIONS_FILE}")
        return 0

    timing = weights.remeasure(
        args.out, rounds=args.rounds, progress=progress.printer(), scenes=args.scenes
    )
    about = timing["machine"]
    print(
        f"{about['processor']}, {about['cpu_count']} cores, {about['backend']}, "
        f"load average {about['load_average_1min']} ({about['measured_at']})"
    )
    print(f"  {'mode':11} {'s/epoch':>8} {'ratio':>6} {'ms/image':>9} {'ratio':>6}")
    for mode, row in timing["modes"].items():
        print(
            f"  {mode:11} {row['seconds_per_epoch']:8.1f} {row['epoch_ratio']:6.2f} "
            f"{row['inference_ms_per_image']:9.2f} {row['inference_ratio']:6.2f}"
        )
    return 0


def _available(name: str) -> bool:
    """Whether a built-in data set loads here (Fashion-MNIST may be missing)."""
    from mml7 import transfer
    from mml7.errors import DatasetUnavailable

    try:
        transfer.load_dataset(name)
    except DatasetUnavailable as error:
        print(f"  {name}: skipped ({error})")
        return False
    return True


def _add_measure(subparsers) -> None:
    parser = subparsers.add_parser(
        "measure",
        help="segmentation: time the shipped segmenters' modes together on this machine (into "
        "the record); advisor: precompute the built-in data sets' signals for the page; "
        "similarity: precompute the built-in galleries' retrieval scores and probes; "
        "autoencoders: the PCA reference, the denoisers' robustness curve and the latent and "
        "denoising tabs' views",
    )
    parser.add_argument("target", choices=["segmentation", "advisor", "similarity", "autoencoders"])
    parser.add_argument(
        "--out",
        help="segmentation, autoencoders: weights folder (default: mml7/weights); "
        "advisor, similarity: the file to write (default: the page's)",
    )
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (medians)")
    parser.add_argument(
        "--predictions",
        action="store_true",
        help="segmentation: only write the shipped models' predictions that the compare tab "
        "shows (train writes them too), no timing",
    )
    parser.add_argument(
        "--scenes",
        choices=["shapes", "thin"],
        default="shapes",
        help="segmentation: the shipped models of which scene kind to time",
    )
    parser.set_defaults(handler=_measure)


# One entry per subcommand; later subcommands append their ``_add_*`` here.
SUBCOMMANDS = [_add_status, _add_train, _add_advise, _add_measure]


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
