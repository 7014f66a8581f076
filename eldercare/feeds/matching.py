"""Reading a list and matching it to the registry, set-based: the rows are read and checked
first, then looked up a chunk at a time (one query for the people of a chunk's blind
indexes, one for the rows of earlier imports), then each row is applied through
``people.life_events`` in a savepoint of its own, or sent to review, or refused."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.core import resident_id
from eldercare.core.db import local_today
from eldercare.core.errors import AppError
from eldercare.core.signals import answers
from eldercare.core.spreadsheets import TableLimits, map_header, read_table
from eldercare.extensions import db
from eldercare.feeds.models import (
    FeedImport,
    FeedKind,
    FeedRow,
    RowOutcome,
    RowReason,
    RowStatus,
)
from eldercare.feeds.schemas import max_rows
from eldercare.people import life_events, signals
from eldercare.people.models import LifeEventSource, Person, id_number_index
from eldercare.regions.models import Region

CHUNK = 1000
PREVIEW_ROWS = 5

#: Headings of real funeral-service and household-register exports, by field.
HEADERS = {
    "id_number": (
        "身份证号码",
        "身份证号",
        "公民身份号码",
        "死者身份证号码",
        "死者身份证号",
        "证件号码",
        "身份证",
    ),
    "name": ("姓名", "死者姓名", "逝者姓名", "迁出人姓名", "户主姓名"),
    "date": ("死亡日期", "火化日期", "迁出日期", "注销日期", "死亡时间", "火化时间", "日期"),
    "source": ("来源", "殡仪馆", "数据来源", "火化单位", "填报单位", "报送单位"),
    "destination": ("迁往地", "迁入地", "迁往地址", "迁往地区", "去向"),
}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NAME_SPACES = re.compile(r"[\s\u3000]+")
_NAME_DOTS = str.maketrans({"•": "·", "．": "·", ".": "·", "・": "·", "‧": "·"})


def parse_day(text: str) -> date | None:
    """2026-11-03, 2026/11/3, 2026.11.3, 2026年11月3日, 20261103 (a time after it is
    ignored); None when it is no date."""
    text = (text or "").strip()
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def same_name(a: str, b: str) -> bool:
    def clean(name: str) -> str:
        return _NAME_SPACES.sub("", name or "").translate(_NAME_DOTS)

    return clean(a) == clean(b)


def table_of(feed_import: FeedImport) -> list[list[str]]:
    limits = TableLimits.for_rows(max_rows())
    return read_table(feed_import.original_name, feed_import.content, limits)


def guess_mapping(headers: list[str], remembered: dict) -> dict[str, int]:
    """{field: column index}: the columns the source's last file used (by their heading),
    else the heading's usual names."""
    out: dict[str, int] = {}
    positions = {title.strip(): i for i, title in reversed(list(enumerate(headers)))}
    for key, title in (remembered or {}).items():
        if key in HEADERS and title in positions:
            out[key] = positions[title]
    guessed, _missing = map_header(headers, HEADERS, ())
    for index, key in guessed.items():
        if key not in out and index not in out.values():
            out[key] = index
    return out


def _masked_cell(text: str) -> str:
    number = resident_id.normalise(text)
    if resident_id.SHAPE.fullmatch(number):
        return resident_id.mask(number)
    return text


def preview(table: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """The header and the first rows, ID numbers masked wherever they are."""
    headers = table[0] if table else []
    rows = [[_masked_cell(c) for c in row] for row in table[1 : 1 + PREVIEW_ROWS]]
    return headers, rows


@dataclass
class Line:
    """A row that could be read."""

    row_number: int
    digest: str
    masked: str
    name: str
    on: date
    source_text: str
    destination: str


@dataclass
class Outcome:
    applied: int = 0
    already_known: int = 0
    to_review: int = 0
    unknown: int = 0
    rejected: int = 0
    queued_before: int = 0
    rows: list[dict] = field(default_factory=list)


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def read_lines(body: list[list[str]], mapping: dict, outcome: Outcome, base: dict) -> list[Line]:
    """Each row checked on its own: an invalid ID number, a name or a date missing, a date
    in the future or before the birth are refused rows, with the reason."""
    today = local_today()
    lines = []
    for offset, cells in enumerate(body):
        row_number = offset + 2
        if not any(cells):
            continue
        raw_id = _cell(cells, mapping["id_number"])
        name = _cell(cells, mapping["name"])[:50]
        raw_day = _cell(cells, mapping["date"])
        source_text = _cell(cells, mapping.get("source"))[:100]
        destination = _cell(cells, mapping.get("destination"))[:100]
        reason, parsed = None, None
        try:
            parsed = resident_id.parse(raw_id, today)
        except resident_id.InvalidResidentId as err:
            reason = _("ID number: %(why)s", why=str(err.message))
        on = parse_day(raw_day)
        if reason is None and not name:
            reason = _("The name is missing.")
        if reason is None and on is None:
            reason = _("The date is missing or not a date (write it as 2026-11-03).")
        if reason is None and on > today:
            reason = _("The date cannot be in the future.")
        if reason is None and on < parsed.birth_date:
            reason = _("The date is before the birth date inside the ID number.")
        if reason is not None:
            outcome.rejected += 1
            outcome.rows.append(
                {
                    **base,
                    "row_number": row_number,
                    "outcome": RowOutcome.REJECTED.value,
                    "status": RowStatus.CLOSED.value,
                    "message": reason[:255],
                    "id_number_masked": resident_id.mask(parsed.number) if parsed else "",
                    "name": name,
                    "occurred_on": on,
                    "source_text": source_text,
                    "destination": destination,
                }
            )
            continue
        lines.append(
            Line(
                row_number,
                id_number_index(parsed.number),
                parsed.masked,
                name,
                on,
                source_text,
                destination,
            )
        )
    return lines


def _known_day(person: Person, kind: str) -> date | None:
    return person.death_date if kind == FeedKind.DEATH.value else person.moved_out_on


def _refusal_text(err: AppError) -> str:
    texts = [str(m) for messages in err.errors.values() for m in messages]
    if not texts:
        texts = [str(err.message if err.message is not None else err.description or err.code)]
    return "；".join(texts)


def apply_line(person: Person, kind: str, line, feed_import_id: int, by, note: str):
    """Record the fact through the registry's one writer (``line``: a Line or a FeedRow)."""
    ref = f"feed:{feed_import_id}:{line.row_number}"
    on = line.on if isinstance(line, Line) else line.occurred_on
    if kind == FeedKind.DEATH.value:
        return life_events.record_death(
            person, on, by, source=LifeEventSource.FEED.value, note=note, source_ref=ref
        )
    return life_events.record_move_out(
        person,
        on,
        by,
        destination=line.destination,
        source=LifeEventSource.FEED.value,
        note=note,
        source_ref=ref,
    )


def _earlier_rows(county_id: int, kind: str, digests: list[str]) -> tuple[set, set]:
    """(keys waiting in review, keys an officer already decided) of earlier imports, a key
    being (blind index, date)."""
    pending, decided = set(), set()
    stmt = sa.select(FeedRow.id_number_index, FeedRow.occurred_on, FeedRow.status).where(
        FeedRow.county_id == county_id,
        FeedRow.kind == kind,
        FeedRow.outcome == RowOutcome.REVIEW.value,
        FeedRow.id_number_index.in_(digests),
    )
    for digest, on, status in db.session.execute(stmt):
        (pending if status == RowStatus.PENDING.value else decided).add((digest, on))
    return pending, decided


def match(feed_import: FeedImport, lines: list[Line], outcome: Outcome, base: dict, by) -> None:
    county = feed_import.county
    kind = feed_import.kind
    note = feed_import.source.name
    in_county = Person.region_id.in_(Region.subtree_ids(county))
    queued: set = set()
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start : start + CHUNK]
        digests = sorted({line.digest for line in chunk})
        people = {
            p.id_number_index: p
            for p in db.session.scalars(
                sa.select(Person).where(Person.id_number_index.in_(digests), in_county)
            )
        }
        pending, decided = _earlier_rows(county.id, kind, digests)
        pending |= queued
        # Rows to apply: most people of a death list are held by no feature (no stay, no
        # enrolment...), and are recorded set-based; the others one by one, each through
        # the life event every feature answers.
        ready: list[tuple[Line, Person]] = []
        for line in chunk:
            key = (line.digest, line.on)
            if key in decided:
                outcome.already_known += 1
                continue
            if key in pending:
                outcome.queued_before += 1
                continue
            person = people.get(line.digest)
            reason, message = _classify(person, kind, line, ask_doubts=False)
            if reason is None:
                ready.append((line, person))
                continue
            _to_review(outcome, queued, base, line, person, reason, message)
        busy = life_events.involved(kind, [person.id for _line, person in ready])
        plain = [
            life_events.Plain(
                person,
                line.on,
                source_ref=f"feed:{feed_import.id}:{line.row_number}",
                destination=line.destination,
            )
            for line, person in ready
            if person.id not in busy and _known_day(person, kind) != line.on
        ]
        left = life_events.record_plain(
            kind, plain, by, source=LifeEventSource.FEED.value, note=note
        )
        done = {id(item) for item in plain} - {id(item) for item in left}
        outcome.applied += len(done)
        recorded = {item.person.id for item in plain if id(item) in done}
        for line, person in ready:
            if person.id in recorded and _known_day(person, kind) == line.on:
                recorded.discard(person.id)  # this row was the one recorded
                continue
            reason, message = _classify(person, kind, line)
            if reason is None:
                reason, message = _apply(person, kind, line, feed_import.id, by, note, outcome)
            if reason is not None:
                _to_review(outcome, queued, base, line, person, reason, message)


def _to_review(outcome: Outcome, queued: set, base: dict, line, person, reason, message) -> None:
    queued.add((line.digest, line.on))
    if reason == RowReason.UNKNOWN:
        outcome.unknown += 1
    else:
        outcome.to_review += 1
    outcome.rows.append(
        {
            **base,
            "row_number": line.row_number,
            "outcome": RowOutcome.REVIEW.value,
            "status": RowStatus.PENDING.value,
            "reason": reason.value,
            "message": message[:255],
            "id_number_index": line.digest,
            "id_number_masked": line.masked,
            "name": line.name,
            "occurred_on": line.on,
            "source_text": line.source_text,
            "destination": line.destination,
            "person_id": person.id if person is not None else None,
        }
    )


def _classify(person: Person | None, kind: str, line: Line, ask_doubts: bool = True):
    """(reason, message) of a row an officer must see; (None, "") for one to apply (or
    that the registry holds already)."""
    if person is None:
        return RowReason.UNKNOWN, _("No one in the county's registry has this ID number.")
    known = _known_day(person, kind)
    if known == line.on:
        return None, ""  # _apply finds it already known, without a write
    if not same_name(person.name, line.name):
        return RowReason.NAME_MISMATCH, _(
            "The registry has this ID number under the name %(name)s.", name=person.name
        )
    if kind == FeedKind.MOVED_OUT.value and person.death_date is not None:
        return RowReason.CONFLICT, _(
            "The registry records this person as deceased on %(day)s.",
            day=person.death_date.isoformat(),
        )
    if known is not None:
        return RowReason.CONFLICT, _(
            "The registry already records this on %(day)s.", day=known.isoformat()
        )
    doubts = answers(signals.event_doubts, person, kind=kind, on=line.on) if ask_doubts else ()
    if doubts:
        return RowReason.DOUBT, "；".join(str(d) for d in doubts)
    return None, ""


def _apply(person, kind, line, import_id, by, note, outcome: Outcome):
    if _known_day(person, kind) == line.on:
        outcome.already_known += 1
        return None, ""
    text = f"{note}：{line.source_text}" if line.source_text else note
    try:
        with db.session.begin_nested():
            recorded = apply_line(person, kind, line, import_id, by, text)
    except AppError as err:
        return RowReason.REFUSED, _refusal_text(err)
    if recorded.already_known:
        outcome.already_known += 1
    else:
        outcome.applied += 1
    return None, ""


def insert_rows(rows: list[dict]) -> None:
    """The review and refused rows, in one statement per thousand."""
    columns = {c.name: c.default for c in FeedRow.__table__.columns if c.name != "id"}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        db.session.execute(sa.insert(FeedRow), [_complete(row, columns) for row in chunk])


def _complete(row: dict, columns: dict) -> dict:
    out = dict(row)
    for name, default in columns.items():
        if name in out:
            continue
        if default is None:
            out[name] = None
        elif default.is_callable:
            out[name] = default.arg(None)
        else:
            out[name] = default.arg
    return out
