"""The harness itself: requests see the test's data, and the data is gone afterwards."""

from eldercare.extensions import db
from eldercare.people.models import Person


def test_request_sees_test_data(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.get(f"/people/{world.person_a.id}")
    assert response.status_code == 200
    assert "张秀英" in response.get_data(as_text=True)


def test_rolled_back_between_tests(app):
    assert db.session.scalar(db.select(db.func.count()).select_from(Person)) == 0
