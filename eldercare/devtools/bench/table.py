"""The city benchmark's table: a row per figure with its target, the JSON report, and
the sizes and limits the city-scale requirement names."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: The sizes the requirement names; the table says when the data is smaller.
CITY = {"enrolments": 300_000, "care_targets": 120_000, "roster_rows": 100_000, "beds": 1_000}


STEPS = ("load", "bulk", "subsidies", "visits", "roster", "exports")


VACANCY_P95_MS = 50


OVERVIEW_P95_MS = 1000


JOB_LIMIT_S = 10


BULK_LIMIT_S = 1


ROSTER_LIMIT_S = 60


RATIO_LIMIT = 3


class NotRunnable(Exception):
    """The step cannot run on the data it found; the message says why (shown in the table)."""


@dataclass
class Figure:
    """One row of the table: what was measured, the value (and how it is shown), the target
    and whether it was met (None: no target, or not measured)."""

    key: str
    figure: str
    value: float | int | None
    shown: str
    target: str = "–"
    met: bool | None = None
    note: str = ""


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "–"}[met]


def render_table(figures: list[Figure]) -> str:
    """The table: figure, value, target, met; notes numbered below it."""
    header = ("figure", "value", "target", "met")
    notes: list[str] = []
    rows = []
    for f in figures:
        label = f.figure
        if f.note:
            notes.append(f.note)
            label = f"{label} [{len(notes)}]"
        rows.append((label, f.shown, f.target, met_text(f.met)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out += [f"[{n}] {text}" for n, text in enumerate(notes, 1)]
    return "\n".join(out)


def report(figures: list[Figure], **context) -> dict:
    """The JSON written by ``--json-out``: the table's rows, then the details of each step."""
    return {
        "figures": [asdict(f) for f in figures],
        "all_targets_met": all(f.met is not False for f in figures),
        **context,
    }


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def scale_row(key: str, figure: str, count: int, city: int) -> Figure:
    at_scale = count >= city
    return Figure(
        key,
        figure,
        count,
        f"{count:,}",
        f">= {city:,} (city scale)",
        at_scale,
        "" if at_scale else f"below city scale: {count:,} of {city:,}",
    )


def failed_row(step: str, exc: BaseException) -> Figure:
    if isinstance(exc, NotRunnable):
        return Figure(f"{step}.not_run", f"{step}", None, f"not run: {exc}")
    message = " ".join(str(exc).split())  # one line in the table; the JSON has the trace
    if len(message) > 150:
        message = message[:147] + "..."
    return Figure(
        f"{step}.error", step, None, f"failed: {type(exc).__name__}: {message}", met=False
    )
