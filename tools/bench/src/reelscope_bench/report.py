"""What every benchmark returns: its figures (JSON-able, absolute numbers for context) and its targets (ratios or
bounds measured in the same run, reported as met or not met; `make bench` never fails on a missed target)."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """One goal of the benchmark issue and what this run measured for it."""

    figure: str
    """Dotted name of the figure in its section, e.g. `get_job.throughput_ratio_vs_off`."""
    goal: str
    """The goal as people read it, e.g. `≥ 0.90`."""
    value: float
    met: bool


def at_least(figure: str, value: float, bound: float) -> Target:
    return Target(figure, f"≥ {bound:g}", value, value >= bound)


def at_most(figure: str, value: float, bound: float) -> Target:
    return Target(figure, f"≤ {bound:g}", value, value <= bound)


@dataclass
class Section:
    """One benchmark's results: `figures` go to the JSON whole, `targets` make the table's verdicts."""

    name: str
    title: str
    figures: dict[str, Any]
    targets: list[Target] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "figures": self.figures, "targets": [asdict(t) for t in self.targets]}


def _shown(value: float) -> str:
    if value == 0 or 0.01 <= abs(value) < 100_000:
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:.3g}"


def targets_table(sections: list[Section]) -> str:
    """The Markdown table of every target: section, figure, goal, measured value, met or not."""
    lines = ["| benchmark | figure | goal | measured | |", "|---|---|---|---|---|"]
    for section in sections:
        for target in section.targets:
            verdict = "met" if target.met else "**not met**"
            lines.append(f"| {section.title} | {target.figure} | {target.goal} | {_shown(target.value)} | {verdict} |")
    return "\n".join(lines) + "\n"


def flat_figures(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Scalar figures as (dotted name, shown value); lists (per-item detail) stay in the JSON only."""
    rows: list[tuple[str, str]] = []
    for name, value in figures.items():
        if isinstance(value, dict):
            rows += flat_figures(value, f"{prefix}{name}.")
        elif isinstance(value, list):
            continue
        elif isinstance(value, float):
            rows.append((f"{prefix}{name}", _shown(value)))
        else:
            rows.append((f"{prefix}{name}", str(value)))
    return rows
