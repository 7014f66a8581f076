"""Rating schemes as data: the four shipped schemes load and hold together, a county copies
one and edits its copy, a scheme a round uses is frozen, and the engine rates by them."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Scheme
from eldercare.ratings.scoring import check, score, spec_of


@pytest.fixture
def shipped(app):
    ops.load_shipped_schemes()
    return {
        s.kind: s for s in db.session.scalars(sa.select(Scheme).where(Scheme.region_id.is_(None)))
    }


def test_the_four_shipped_schemes_load_once_and_hold_together(shipped):
    assert set(shipped) == {
        "nursing_home",
        "home_care_center",
        "community_station",
        "happiness_home",
    }
    assert ops.load_shipped_schemes() == 0
    for scheme in shipped.values():
        assert check(spec_of(scheme)) == []
        assert scheme.must_haves
    assert shipped["nursing_home"].total_points == 1000
    assert [s.max_points for s in shipped["nursing_home"].sections] == [300, 350, 200, 150]
    assert shipped["community_station"].total_points == 500
    assert shipped["community_station"].max_level == 3


def _full_marks(scheme) -> dict:
    spec = spec_of(scheme)
    return {
        spec.item_key(s, i): (True if i.must_have else i.max_points)
        for s in spec.sections
        for i in s.items
    }


def test_a_community_station_with_full_marks_gets_three_stars(shipped):
    station = shipped["community_station"]
    result = score(spec_of(station), _full_marks(station))
    assert result.total == 500 and result.level == 3
    assert [s.kind for s in result.stopped_by] == ["cap"]


def test_a_nursing_home_failing_one_must_have_gets_no_grade(shipped):
    home = shipped["nursing_home"]
    marks = _full_marks(home)
    first_must_have = next(k for k, v in marks.items() if v is True)
    marks[first_must_have] = False
    result = score(spec_of(home), marks)
    assert result.level is None and result.failed_must_haves == [first_must_have]
    assert score(spec_of(home), _full_marks(home)).level == 5


def test_a_broken_file_loads_nothing(tmp_path):
    good = os.path.join(ops.SHIPPED_DIR, "community_station.json")
    with open(good, encoding="utf-8") as handle:
        data = json.load(handle)
    data["sections"][0]["max_points"] += 1
    (tmp_path / "a.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ops.SchemeFileError, match=r"a\.json"):
        ops.load_shipped_schemes(str(tmp_path))


def test_a_county_copies_and_edits_its_copy(world, shipped):
    staff = world.user("county_staff")
    original = shipped["happiness_home"]
    copy = ops.copy_scheme(original, staff)
    assert (copy.region_id, copy.version, copy.copied_from_id) == (
        world.county_a.id,
        1,
        original.id,
    )
    assert ops.copy_scheme(original, staff).version == 2
    item = next(i for s in copy.sections for i in s.items if not i.must_have)
    ops.update_item(item, {"text": "每周开放不少于6天", "max_points": item.max_points}, staff)
    assert item.text == "每周开放不少于6天"
    # The shipped scheme never changes.
    shipped_item = next(i for s in original.sections for i in s.items if not i.must_have)
    with pytest.raises(Conflict if original.is_frozen else AppError):
        ops.update_item(shipped_item, {"text": "x"}, staff)


def test_a_copy_that_would_not_hold_together_is_refused(world, shipped):
    """Taking points off the items of a section is fine until the section falls below what
    the top level asks of it: that change is refused and changes nothing."""
    staff = world.user("county_staff")
    copy = ops.copy_scheme(shipped["happiness_home"], staff)
    section = copy.sections[0]
    top = copy.thresholds[-1].section_minimums[section.code]
    with pytest.raises(Invalid) as refused:  # before every item is down to one point
        for item in sorted(section.items, key=lambda i: -i.max_points):
            if not item.must_have:
                ops.update_item(item, {"max_points": 1}, staff)
                assert section.max_points >= top
    assert "不自洽" in str(refused.value.message)
    with pytest.raises(Invalid):
        ops.update_item(section.items[-1], {"max_points": 0}, staff)


def test_a_scheme_in_use_is_frozen(world, shipped):
    staff = world.user("county_staff")
    copy = ops.copy_scheme(shipped["nursing_home"], staff)
    ops.freeze(copy)
    item = copy.sections[0].items[-1]
    with pytest.raises(Conflict):
        ops.update_item(item, {"text": "改"}, staff)


def test_a_county_sees_the_shipped_schemes_and_its_own_copies_only(world, shipped):
    from tests.builders import build_user

    mine = ops.copy_scheme(shipped["nursing_home"], world.user("county_staff"))
    other = build_user("county_staff", world.county_b)
    seen = {s.id for s in ops.schemes_for(other)}
    assert mine.id not in seen and shipped["nursing_home"].id in seen
    with pytest.raises(AppError):
        ops.update_item(mine.sections[0].items[-1], {"text": "改"}, other)
