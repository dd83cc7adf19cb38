"""The advisor's suite: the built-in cases at several sizes and seeds, every strategy
scored on a fixed held-out test split, and four rules judged on them.

For each (case, images per class, seed) the suite draws that many training-pool images per
class, measures the signals (``measured.measure_signals`` without the fine-tune probe:
on the suite it changed no recommendation and cost most of the signals' time; timed), runs every strategy
(``run_experiments``, timed) and scores each trained model on the case's test split, which
no training or validation image comes from. On the test split a strategy *wins* when it is
within max(1 point, 2 standard errors of its paired difference with the best) of the best.
The rules: the lecture's table (``advise``), the measured recommendation
(``measured.predict``), "always fine-tune" and "always train the head". A rule's *regret*
is the best test accuracy minus its strategy's. "Collect more data" is a hit when the
head's test accuracy still rose by more than the margin from half to all of the training
images, and its regret is that of what one trains meanwhile (the measured
recommendation's best-predicted experiment; the head for the lecture's table).

Design and report: the recommendation is designed on ``DESIGN_CASES`` and the summary
reports on the other cases. Results go to a JSON-lines file, one line per run, and a rerun
skips the runs already there (resumable).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mml7 import backbones
from mml7.data import ImageDataset
from mml7.inference import predict
from mml7.progress import Progress, report, scaled, step
from mml7.transfer import measured
from mml7.transfer.advice import advise
from mml7.transfer.experiments import ExperimentConfig, run_experiments, training_split
from mml7.transfer.heads import accuracy, fit_head
from mml7.transfer.imagenet import imagenet_similarity
from mml7.transfer.transferability import (
    dataset_features,
    ensemble_cut,
    recommended_cut,
    transferability,
)

SIZES = (10, 50, 200, 1000)
SEEDS = (0, 1, 2)
TEST_IMAGES = 500
DESIGN_CASES = ("Digits (8x8)", "LFW faces vs non-faces")
RULES = ("textbook", "measured", "always fine_tune", "always train_head")


@dataclass(frozen=True)
class Case:
    """A built-in data set split once into a training pool and a fixed test split."""

    name: str
    pool: ImageDataset
    test: ImageDataset
    note: str = ""


def _held_out(dataset: ImageDataset, test_images: int, seed: int = 1234):
    """(pool, test, note): a stratified test split of ``test_images`` (at most a third of
    the data set when it is smaller than that allows), the rest the pool."""
    from mml7.transfer.datasets import sample_indices

    wanted = min(test_images, len(dataset) // 3)
    test = sample_indices(dataset.labels, wanted, seed)
    pool = np.setdiff1d(np.arange(len(dataset)), test)
    note = "" if wanted == test_images else f"too small for {test_images}: {wanted} test images"
    return dataset.subset(pool), dataset.subset(test), note


def builtin_cases(test_images: int = TEST_IMAGES) -> list[Case]:
    """Fashion-MNIST (pool: its training set; test: the first ``test_images`` of its test
    set), digits and LFW faces (a stratified test split held out of each)."""
    from mml7 import data

    cases = []
    fashion_test = data.fashion_mnist("test", test_images)
    cases.append(Case("Fashion-MNIST", data.fashion_mnist("train"), fashion_test))
    for name, loader in (("Digits (8x8)", data.digits), ("LFW faces vs non-faces", data.lfw_faces)):
        pool, test, note = _held_out(loader(), test_images)
        cases.append(Case(name, pool, test, note))
    return cases


def paired_winners(correct: dict[str, np.ndarray]) -> list[str]:
    """Strategies within max(1 point, 2 standard errors of the paired difference) of the
    best, from per-image correctness (bool arrays over the same test images)."""
    scores = {key: float(np.mean(values)) for key, values in correct.items()}
    best = max(scores, key=scores.get)
    found = []
    for key, values in correct.items():
        difference = correct[best].astype(np.float64) - values.astype(np.float64)
        spread = difference.std(ddof=1) if len(difference) > 1 else 0.0
        error = spread / math.sqrt(len(difference))
        if scores[key] >= scores[best] - max(0.01, 2 * error):
            found.append(key)
    return found


def _test_correct(result, test: ImageDataset, image_size: int) -> dict[str, np.ndarray]:
    from mml7.transfer.downloadable import model_inputs

    inputs = model_inputs(test.images, image_size)
    return {
        measured.ROW_KEYS[name]: np.argmax(predict(model, inputs, 64), axis=1) == test.labels
        for name, model in result.models.items()
    }


def _collect_gain(data, test, config, features, test_features) -> float:
    """The head's test accuracy on all minus on half of the training split."""
    from mml7.transfer.datasets import sample_indices

    train, _ = training_split(data, config)
    scores = []
    for count in (max(len(train) // 2, 2 * data.num_classes), len(train)):
        subset = train[sample_indices(data.labels[train], count, config.seed)]
        head = fit_head(features[subset], data.labels[subset], data.num_classes, config)
        scores.append(accuracy(predict(head, test_features), test.labels))
    return scores[1] - scores[0]


def run_one(case: Case, per_class: int, seed: int, config: ExperimentConfig, progress=None):
    """One run of the suite: signals, every strategy, the test scores; a JSON-able dict."""
    data = case.pool.per_class(per_class, seed)
    config = dataclasses.replace(config, seed=seed)
    cuts = tuple(backbones.spec(config.backbone).cut_names)
    features = dataset_features(data, config, cuts, scaled(progress, 0.0, 0.2))
    scores = transferability(features, data.labels, seed)
    cut = recommended_cut(scores)
    config = dataclasses.replace(config, cut=cut, ensemble_cut=ensemble_cut(scores, cut))
    began, cpu = time.perf_counter(), time.process_time()
    signals = measured.measure_signals(data, config, features, False, scaled(progress, 0.2, 0.3))
    signal_s, signal_cpu_s = time.perf_counter() - began, time.process_time() - cpu
    textbook = advise(data, imagenet_similarity(data.images, 64, seed), config=config)
    began, cpu = time.perf_counter(), time.process_time()
    result = run_experiments(data, config, features, scaled(progress, 0.3, 0.95))
    experiments_s, experiments_cpu_s = time.perf_counter() - began, time.process_time() - cpu
    correct = _test_correct(result, case.test, config.image_size)
    test_features = dataset_features(case.test, config, (cut,))[cut]
    collect_gain = _collect_gain(data, case.test, config, features[cut], test_features)
    report(progress, 1.0, f"{case.name}, {per_class} per class, seed {seed}: done")
    chosen = measured.predict(signals)
    return {
        "case": case.name,
        "per_class": int(per_class),
        "seed": int(seed),
        "test_images": len(case.test),
        "test": {key: float(values.mean()) for key, values in correct.items()},
        "winners": paired_winners(correct),
        "collect_gain": float(collect_gain),
        "validation": measured.row_results(result.rows),
        "textbook": measured.TEXTBOOK_KEYS[textbook.strategy],
        "measured": chosen.strategy,
        "predicted": chosen.predicted,
        # Kept so that a change of ``measured.predict`` is re-scored without a rerun.
        "signals": dataclasses.asdict(signals),
        "signal_s": signal_s,
        "experiments_s": experiments_s,
        # CPU seconds of this process: unlike wall seconds, not stretched by other work.
        "signal_cpu_s": signal_cpu_s,
        "experiments_cpu_s": experiments_cpu_s,
    }


def resignal(run: dict, case: Case, config: ExperimentConfig) -> dict:
    """``run`` with its signals measured again by today's ``measure_signals`` (without the
    fine-tune probe) and their CPU seconds; the experiments and test scores are kept. The
    previous signals stay under "previous_signals"."""
    data = case.pool.per_class(run["per_class"], run["seed"])
    recorded = run["signals"]
    cuts = list(recorded["probe"])
    partner = next((cut for cut in cuts if cut != recorded["cut"]), recorded["cut"])
    config = dataclasses.replace(
        config, seed=run["seed"], cut=recorded["cut"], ensemble_cut=partner
    )
    features = dataset_features(data, config, tuple(dict.fromkeys((recorded["cut"], partner))))
    began, cpu = time.perf_counter(), time.process_time()
    signals = measured.measure_signals(data, config, features, False)
    took, took_cpu = time.perf_counter() - began, time.process_time() - cpu
    return run | {
        "previous_signals": run.get("previous_signals", recorded),
        "signals": dataclasses.asdict(signals),
        "signal_s": took,
        "signal_cpu_s": took_cpu,
    }


def rule_choice(run: dict, rule: str) -> tuple[str, str]:
    """(strategy, meanwhile): what ``rule`` picks on ``run`` and, for "collect more data",
    what it trains meanwhile (the measured recommendation's best-predicted experiment; the
    head for the others). The measured one is predicted again from the recorded signals
    (today's ``measured.predict``) when the run has them."""
    if rule == "measured" and "signals" in run:
        found = measured.predict(measured.Signals.from_dict(run["signals"]))
        return found.strategy, found.meanwhile
    choice = run[rule] if rule in ("textbook", "measured") else rule.removeprefix("always ")
    return choice, choice if choice != "collect_more_data" else "train_head"


def score_rule(run: dict, rule: str) -> tuple[bool, float]:
    """(hit, regret) of ``rule`` on one run (see the module's docstring)."""
    choice, meanwhile = rule_choice(run, rule)
    best = max(run["test"].values())
    margin = measured.margin(run["test_images"])
    if choice == "collect_more_data":
        return run["collect_gain"] > margin, best - run["test"][meanwhile]
    return choice in run["winners"], best - run["test"][choice]


def cost_ratio(run: dict) -> float:
    """The signals' cost over running every strategy: CPU seconds when the run has them
    (a busy machine stretches wall seconds unevenly), else wall seconds."""
    if run.get("experiments_cpu_s"):
        return run["signal_cpu_s"] / run["experiments_cpu_s"]
    return run["signal_s"] / run["experiments_s"]


def summary(runs: list[dict], report_only: bool = True) -> dict:
    """Per rule: cases, hit rate, mean and worst regret; and the measurement's cost as the
    median of ``cost_ratio``."""
    picked = [run for run in runs if not report_only or run["case"] not in DESIGN_CASES]
    rules = {}
    for rule in RULES:
        scored = [score_rule(run, rule) for run in picked]
        regrets = [regret for _, regret in scored]
        rules[rule] = {
            "cases": len(scored),
            "hit_rate": float(np.mean([hit for hit, _ in scored])) if scored else math.nan,
            "mean_regret": float(np.mean(regrets)) if scored else math.nan,
            "worst_regret": float(np.max(regrets)) if scored else math.nan,
        }
    costs = [cost_ratio(run) for run in picked if run["experiments_s"] > 0]
    return {"rules": rules, "cost_ratio": float(np.median(costs)) if costs else math.nan}


def run_suite(
    out: Path,
    cases: list[Case],
    sizes=SIZES,
    seeds=SEEDS,
    config: ExperimentConfig | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Every (case, size, seed) not yet in ``out`` (JSON lines), appended as it finishes;
    sizes a case's pool cannot give are skipped with a line in the log."""
    out, config = Path(out), config or ExperimentConfig()
    done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    seen = {(run["case"], run["per_class"], run["seed"]) for run in done}
    plan = []
    for case in cases:
        smallest = int(case.pool.images_per_class().min())
        for size in sizes:
            if size > smallest:
                log(f"{case.name}: {size} per class skipped (the pool has {smallest})")
                continue
            plan += [(case, size, seed) for seed in seeds if (case.name, size, seed) not in seen]
    for index, (case, size, seed) in enumerate(plan):
        label = f"{case.name}, {size} per class, seed {seed}: "
        run = run_one(case, size, seed, config, step(progress, index, len(plan), label))
        with out.open("a") as stream:
            stream.write(json.dumps(run) + "\n")
        done.append(run)
    return done
