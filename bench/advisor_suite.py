"""The advisor suite's figures as markdown, from its JSON lines (``python -m mml7 advise
--suite --image-size 64 --suite-out bench/advisor_suite.jsonl`` writes them, resumably).

Prints, for the report cases (Fashion-MNIST) and the design cases (digits, LFW) apart, each
rule's hit rate and mean / worst regret in points on the fixed test split (rules re-scored
with today's ``measured.predict`` from the recorded signals), every run's test accuracies,
winners and picks, and what the measurements cost: signal seconds over the seconds of
running every strategy (CPU seconds where recorded, else wall), per run and as the median.

Usage: python bench/advisor_suite.py [JSONL]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mml7.transfer import suite  # noqa: E402

SHORT = {
    "train_head": "head",
    "fine_tune": "fine-tune",
    "from_scratch": "scratch",
    "ensemble": "ensemble",
    "collect_more_data": "collect",
}


def rules_table(runs: list[dict], title: str) -> None:
    found = suite.summary(runs, report_only=False)
    print(f"\n{title}: {len(runs)} runs\n")
    print("| rule | hit rate | mean regret (points) | worst regret |")
    print("| --- | --- | --- | --- |")
    for rule, row in found["rules"].items():
        print(
            f"| {rule} | {row['hit_rate']:.0%} | {100 * row['mean_regret']:.2f} | "
            f"{100 * row['worst_regret']:.1f} |"
        )
    print(f"\nMeasurements cost (median signal s / all-strategies s): {found['cost_ratio']:.0%}")


def runs_table(runs: list[dict]) -> None:
    print(
        "\n| case | per class | seed | head | fine-tune | scratch | ensemble | winners | "
        "textbook | measured | cost |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        test = run["test"]
        picks = []
        for rule in ("textbook", "measured"):
            choice, meanwhile = suite.rule_choice(run, rule)
            hit, regret = suite.score_rule(run, rule)
            label = SHORT[choice] + (f" ({SHORT[meanwhile]})" if choice != meanwhile else "")
            picks.append(f"{label} {'hit' if hit else 'miss'} {100 * regret:.1f}")
        print(
            f"| {run['case']} | {run['per_class']} | {run['seed']} | "
            + " | ".join(
                f"{test[key]:.3f}"
                for key in ("train_head", "fine_tune", "from_scratch", "ensemble")
            )
            + f" | {', '.join(SHORT[w] for w in run['winners'])} | {picks[0]} | {picks[1]} | "
            f"{suite.cost_ratio(run):.0%}{'' if run.get('experiments_cpu_s') else ' (wall)'} |"
        )


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/advisor_suite.jsonl")
    runs = [json.loads(line) for line in path.read_text().splitlines()]
    report = [run for run in runs if run["case"] not in suite.DESIGN_CASES]
    design = [run for run in runs if run["case"] in suite.DESIGN_CASES]
    rules_table(report, "Report cases (" + ", ".join(sorted({r["case"] for r in report})) + ")")
    rules_table(design, "Design cases (" + ", ".join(suite.DESIGN_CASES) + ")")
    sizes = sorted({run["per_class"] for run in report})
    for size in sizes:
        ratios = [suite.cost_ratio(r) for r in report if r["per_class"] == size]
        print(f"- cost at {size} per class (report): median {statistics.median(ratios):.0%}")
    runs_table(report + design)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
