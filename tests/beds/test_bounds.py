"""What a user types into the bed forms and the beds API is bounded by what makes sense:
dates neither in the future nor absurdly far back, a reservation ending within
``RESERVATION_MAX_DAYS``, a monthly price within the range its county set."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from eldercare.auth.operations import create_token
from eldercare.beds import operations as ops
from eldercare.beds.models import Bed, Reservation, Stay
from eldercare.beds.schemas import EVENT_YEARS_BACK, RESERVATION_MAX_DAYS
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Invalid
from eldercare.extensions import db
from eldercare.regions.models import CountySettings
from tests.builders import LOW_RISKS, build_person

TOO_FAR = "The date is too far back"


@pytest.fixture
def beds(world, make_room, make_bed):
    room = make_room(world.facility_a, number="301", floor=3)
    return make_bed(room, label="1"), make_bed(room, label="2")


@pytest.fixture
def api_headers(world):
    secret = create_token(world.user("operator"), "test", 1)[1]
    return {"Authorization": f"Bearer {secret}"}


def far_back() -> str:
    """A day just before the oldest one the forms take."""
    today = local_today()
    return today.replace(year=today.year - EVENT_YEARS_BACK - 1).isoformat()


def tomorrow() -> str:
    return (local_today() + timedelta(days=1)).isoformat()


def page(world, bed, action):
    return f"/facilities/{world.facility_a.id}/beds/{bed.id}/{action}?lang=en"


def occupy(world, bed):
    person = build_person(world.village_a)
    return ops.admit(
        bed, person, local_today() - timedelta(days=30), LOW_RISKS, world.user("admin")
    )


def set_price_range(world, low_fen: int, high_fen: int) -> None:
    db.session.add(
        CountySettings(
            region_id=world.county_a.id, bed_price_min_fen=low_fen, bed_price_max_fen=high_fen
        )
    )
    db.session.flush()


# --- dates ----------------------------------------------------------------------------------


def _admit(world, bed, day):
    return {
        "id_number": world.person_a.id_number,
        "name": world.person_a.name,
        "admitted_on": day,
        **{f"risks[{key}]": level for key, level in LOW_RISKS.items()},
    }


#: (action, state the bed needs, form with the date) for every dated bed form.
DATED_FORMS = [
    ("admit", None, _admit),
    ("discharge", "occupied", lambda w, b, d: {"discharged_on": d, "reason": "home"}),
    ("leave", "occupied", lambda w, b, d: {"start_on": d}),
    ("out-of-service", None, lambda w, b, d: {"reason": "维修", "start_on": d}),
]


@pytest.mark.parametrize("when", ["far back", "1900-01-01", "tomorrow"])
@pytest.mark.parametrize(("action", "state", "form"), DATED_FORMS, ids=lambda x: str(x)[:12])
def test_every_dated_bed_form_refuses_an_implausible_day(
    client, auth, world, beds, action, state, form, when
):
    day = {"far back": far_back(), "tomorrow": tomorrow()}.get(when, when)
    bed = beds[0]
    if state == "occupied":
        occupy(world, bed)
    auth.login_as(world.user("operator"))
    response = client.post(page(world, bed, action), data=form(world, bed, day))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (TOO_FAR if when != "tomorrow" else "The date is in the future.") in html
    assert f'value="{day}"' in html  # what was typed is kept


def test_transfer_leave_end_and_back_in_service_refuse_far_back_days(client, auth, world, beds):
    today, too_old = local_today(), far_back()
    stay = occupy(world, beds[0])
    auth.login_as(world.user("operator"))
    moved = client.post(
        page(world, beds[0], "transfer"), data={"bed_id": beds[1].id, "on": too_old}
    )
    assert moved.status_code == 422 and TOO_FAR in moved.get_data(as_text=True)
    ops.start_leave(stay, today - timedelta(days=3), "", world.user("admin"))
    back = client.post(page(world, beds[0], "leave/end"), data={"end_on": too_old})
    assert back.status_code == 422 and TOO_FAR in back.get_data(as_text=True)
    ops.take_out_of_service(beds[1], "维修", today - timedelta(days=3), world.user("admin"))
    again = client.post(page(world, beds[1], "back-in-service"), data={"on": too_old})
    assert again.status_code == 422 and TOO_FAR in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Stay)) == 1


def test_the_api_shares_the_bounds(client, world, beds, api_headers):
    body = {
        "id_number": world.person_a.id_number,
        "name": world.person_a.name,
        "admitted_on": "1901-05-01",
        "risks": LOW_RISKS,
    }
    response = client.post(
        f"/api/v1/beds/{beds[0].id}/admit?lang=en", json=body, headers=api_headers
    )
    assert response.status_code == 422
    assert TOO_FAR in response.json["errors"]["admitted_on"][0]
    bulk = client.post(
        "/api/v1/beds/bulk?lang=en",
        json={
            "items": [
                {
                    "bed_id": beds[0].id,
                    "status": "out_of_service",
                    "reason": "修",
                    "on": "1901-01-01",
                }
            ]
        },
        headers=api_headers,
    )
    assert bulk.status_code == 422
    assert TOO_FAR in str(bulk.json["errors"])


def test_the_operation_refuses_a_far_back_day_without_a_schema(world, beds):
    with pytest.raises(Invalid) as refused:
        ops.take_out_of_service(
            beds[0], "维修", local_today().replace(year=1950), world.user("admin")
        )
    assert "admitted_on" not in refused.value.errors and "start_on" in refused.value.errors


# --- reservations -----------------------------------------------------------------------------


def test_a_reservation_to_2099_is_refused_on_the_page_and_in_the_api(
    client, auth, world, beds, api_headers
):
    auth.login_as(world.user("operator"))
    response = client.post(
        page(world, beds[0], "reserve"),
        data={"holder_name": "王大爷", "expires_at": "2099-12-31T12:00"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f"at most {RESERVATION_MAX_DAYS} days" in html
    assert 'value="2099-12-31T12:00"' in html
    api = client.post(
        f"/api/v1/beds/{beds[0].id}/reserve?lang=en",
        json={"holder_name": "王大爷", "expires_at": "2099-12-31T12:00:00+08:00"},
        headers=api_headers,
    )
    assert api.status_code == 422
    assert f"at most {RESERVATION_MAX_DAYS} days" in api.json["errors"]["expires_at"][0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)) == 0
    # Within the bound it is kept.
    ok = client.post(
        page(world, beds[0], "reserve"),
        data={
            "holder_name": "王大爷",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert ok.status_code == 302


def test_the_reserve_operation_refuses_the_far_future_too(world, beds):
    with pytest.raises(Invalid):
        ops.reserve(
            beds[0],
            "王大爷",
            utcnow() + timedelta(days=RESERVATION_MAX_DAYS + 1),
            world.user("admin"),
        )


# --- prices -----------------------------------------------------------------------------------


def test_a_new_bed_price_outside_the_county_range_is_refused_naming_it(client, auth, world, beds):
    auth.login_as(world.user("operator"))
    url = f"/facilities/{world.facility_a.id}/beds/new?lang=en"
    form = {"room_id": beds[0].room_id, "label": "9", "care_type": "nursing"}
    for typed in ("9999999", "12.34"):
        response = client.post(url, data={**form, "monthly_price": typed})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "between ¥300 and ¥30,000" in html
        assert f'value="{typed}"' in html
    assert db.session.scalar(sa.select(Bed.id).where(Bed.label == "9")) is None
    assert client.post(url, data={**form, "monthly_price": "2800"}).status_code == 302


def test_the_county_range_is_the_county_s_own(client, auth, world, beds):
    set_price_range(world, 50_000, 200_000)  # ¥500 to ¥2,000 in county A
    auth.login_as(world.user("operator"))
    url = f"/facilities/{world.facility_a.id}/beds/new?lang=en"
    form = {"room_id": beds[0].room_id, "label": "9", "care_type": "nursing"}
    response = client.post(url, data={**form, "monthly_price": "2800"})
    assert response.status_code == 422
    assert "between ¥500 and ¥2,000" in response.get_data(as_text=True)


def test_the_api_patch_and_bulk_keep_the_range(client, world, beds, api_headers):
    patch = client.patch(
        f"/api/v1/beds/{beds[0].id}?lang=en", json={"monthly_price": "9999999"}, headers=api_headers
    )
    assert patch.status_code == 422
    assert "between ¥300 and ¥30,000" in patch.json["errors"]["monthly_price"][0]
    bulk = client.post(
        "/api/v1/beds/bulk?lang=en",
        json={
            "items": [
                {"bed_id": beds[0].id, "monthly_price": "2000"},
                {"bed_id": beds[1].id, "monthly_price": "12.34"},
            ]
        },
        headers=api_headers,
    )
    assert bulk.status_code == 422
    assert set(bulk.json["errors"]["items"]) == {"1"}
    assert "¥300" in bulk.json["errors"]["items"]["1"]["monthly_price"][0]
    db.session.expire_all()
    assert {b.monthly_price_fen for b in beds} == {250_000}  # nothing written


def test_a_care_type_change_keeps_an_old_price_outside_a_narrowed_range(
    client, world, beds, api_headers
):
    set_price_range(world, 50_000, 200_000)  # the bed's ¥2,500 is now above the range
    response = client.patch(
        f"/api/v1/beds/{beds[0].id}",
        json={"care_type": "dementia", "monthly_price": "2500"},
        headers=api_headers,
    )
    assert response.status_code == 200


def test_an_import_row_outside_the_range_is_reported_and_nothing_imported(client, auth, world):
    wb = Workbook()
    sheet = wb.active
    sheet.append(["楼栋", "楼层", "房间号", "床号", "床位类型", "月收费(元)"])
    sheet.append(["A", 1, "101", "1", "护理型", "2500"])
    sheet.append(["A", 1, "101", "2", "护理型", "9999999"])
    out = io.BytesIO()
    wb.save(out)
    auth.login_as(world.user("operator"))
    response = client.post(
        f"/facilities/{world.facility_a.id}/beds/import?lang=en",
        data={"file": (io.BytesIO(out.getvalue()), "beds.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "between ¥300 and ¥30,000" in html
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Bed)
            .where(Bed.facility_id == world.facility_a.id)
        )
        == 0
    )
