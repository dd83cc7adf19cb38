"""mml7.transfer.suite: winners on paired test scores, the rules' hits and regrets, the
summary, resuming, and the quick suite end to end."""

import json

import numpy as np
import pytest

from mml7 import backbones, data
from mml7.transfer import suite


def _run(case="Fashion-MNIST", textbook="train_head", measured="fine_tune", **test):
    scores = {"train_head": 0.80, "fine_tune": 0.85, "from_scratch": 0.40, "ensemble": 0.81}
    scores.update(test)
    return {
        "case": case,
        "per_class": 50,
        "seed": 0,
        "test_images": 500,
        "test": scores,
        "winners": ["fine_tune"],
        "collect_gain": 0.03,
        "textbook": textbook,
        "measured": measured,
        "signal_s": 2.0,
        "experiments_s": 10.0,
    }


def test_paired_winners_read_the_paired_standard_error():
    rng = np.random.default_rng(0)
    best = np.arange(500) < 425  # 85%
    # The same answers with 10 more wrong: 2 points down, paired SE ~0.6 point: out.
    close = np.arange(500) < 415
    # 83% right on other images: the paired difference is noisy (SE ~2.4 points): in.
    independent = rng.permutation(close)
    far = np.zeros(500, bool)
    winners = suite.paired_winners(
        {"fine_tune": best, "train_head": close, "ensemble": independent, "from_scratch": far}
    )
    assert "fine_tune" in winners and "ensemble" in winners
    assert "train_head" not in winners and "from_scratch" not in winners


def test_rules_score_hits_and_regrets():
    run = _run()
    assert suite.score_rule(run, "measured") == (True, 0.0)
    hit, regret = suite.score_rule(run, "textbook")
    assert not hit and regret == pytest.approx(0.05)
    assert suite.score_rule(run, "always fine_tune")[0]
    # Collect more data: a hit when the head still gained more than the margin from half
    # to all of the training images; its regret is the head's.
    collect = _run(textbook="collect_more_data")
    hit, regret = suite.score_rule(collect, "textbook")
    assert hit and regret == pytest.approx(0.05)  # 3 points > 1 point on 500 images
    assert not suite.score_rule(dict(collect, collect_gain=0.005), "textbook")[0]


def test_measured_is_rescored_from_its_signals_and_collecting_costs_its_meanwhile():
    import dataclasses

    from mml7.transfer import measured

    rising = [(n, 1 - 4 * n**-0.5) for n in (25, 50, 100, 200)]  # +8 points from 2x data
    signals = measured.Signals(
        num_classes=10,
        validation_images=200,
        cut="last",
        probe={"last": rising[-1][1]},
        knn=0.7,
        pixels=0.5,
        learning=rising,
        fine_tune_gain=0.2,  # fine-tuning predicted best: trained meanwhile
        scratch_steps=100,
    )
    run = _run(measured="train_head") | {"signals": dataclasses.asdict(signals)}
    assert suite.rule_choice(run, "measured") == ("collect_more_data", "fine_tune")
    hit, regret = suite.score_rule(run, "measured")
    assert hit and regret == 0.0  # the head still rose 3 points; fine-tuning was the best
    book = _run(textbook="collect_more_data")
    assert suite.rule_choice(book, "textbook") == ("collect_more_data", "train_head")


def test_summary_reports_on_the_report_cases_only():
    runs = [_run(), _run(measured="train_head"), _run(case=suite.DESIGN_CASES[0])]
    found = suite.summary(runs)
    assert found["rules"]["measured"]["cases"] == 2
    assert found["rules"]["measured"]["hit_rate"] == 0.5
    assert found["rules"]["measured"]["mean_regret"] == pytest.approx(0.025)
    assert found["rules"]["measured"]["worst_regret"] == pytest.approx(0.05)
    assert found["rules"]["always fine_tune"]["hit_rate"] == 1.0
    assert found["cost_ratio"] == pytest.approx(0.2)
    assert suite.summary(runs, report_only=False)["rules"]["textbook"]["cases"] == 3
    # CPU seconds, where a run has them, rather than wall seconds a busy machine stretches.
    timed = dict(_run(), signal_cpu_s=1.0, experiments_cpu_s=20.0)
    assert suite.cost_ratio(timed) == 0.05 and suite.cost_ratio(_run()) == 0.2


def test_run_suite_resumes_and_skips_sizes_the_pool_cannot_give(tmp_path, monkeypatch):
    labels = np.repeat(np.arange(2), 30)
    pool = data.ImageDataset(np.zeros((60, 4, 4, 1), np.float32), labels, ["a", "b"], "t", "")
    case = suite.Case("tiny", pool, pool)
    calls = []

    def fake(case, per_class, seed, config, progress=None):
        calls.append((per_class, seed))
        return {"case": case.name, "per_class": per_class, "seed": seed}

    monkeypatch.setattr(suite, "run_one", fake)
    out, log = tmp_path / "runs.jsonl", []
    runs = suite.run_suite(out, [case], (10, 50), (0, 1), log=log.append)
    assert calls == [(10, 0), (10, 1)] and len(runs) == 2
    assert log == ["tiny: 50 per class skipped (the pool has 30)"]
    again = suite.run_suite(out, [case], (10, 20), (0, 1), log=log.append)
    assert calls[2:] == [(20, 0), (20, 1)] and len(again) == 4
    assert [json.loads(line)["per_class"] for line in out.read_text().splitlines()] == [
        10,
        10,
        20,
        20,
    ]


def test_held_out_test_split_is_disjoint_and_says_when_it_is_small():
    labels = np.repeat(np.arange(2), 100)
    images = np.arange(200, dtype=np.float32).reshape(200, 1, 1, 1)
    dataset = data.ImageDataset(images, labels, ["a", "b"], "t", "")
    pool, test, note = suite._held_out(dataset, 500)
    assert len(test) == 66 and len(pool) == 134 and "too small for 500: 66 test images" in note
    assert set(pool.images.ravel()).isdisjoint(test.images.ravel())
    assert np.bincount(test.labels).tolist() == [33, 33]


@pytest.mark.skipif(
    backbones.available_backbones()[backbones.DEFAULT_BACKBONE] is not None,
    reason="MobileNet weights not here",
)
def test_quick_suite_end_to_end(tmp_path, capsys):
    from mml7 import cli

    out = tmp_path / "suite.jsonl"
    assert cli.main(["advise", "--suite", "--quick", "--suite-out", str(out)]) == 0
    (run,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert (run["case"], run["per_class"], run["test_images"]) == ("Digits (8x8)", 10, 100)
    assert set(run["test"]) == {"train_head", "fine_tune", "from_scratch", "ensemble"}
    assert set(run["winners"]) <= set(run["test"]) and run["winners"]
    assert 0 < run["signal_s"] < run["experiments_s"]
    printed = capsys.readouterr().out
    assert "1 runs; scored on every case" in printed
    assert "measurements cost" in printed and "always train_head" in printed
