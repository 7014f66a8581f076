"""API lists are paged and say so in the X-Pagination header."""

import json


def test_people_list_is_paged_with_totals(client, auth, world, make_person):
    for _ in range(4):
        make_person(world.village_a)
    auth.login_as(world.user("township_staff"))
    response = client.get("/api/v1/people/?page=2&per_page=2")
    assert response.status_code == 200
    info = json.loads(response.headers["X-Pagination"])
    # person_a and the four above are in the township; county B's person is not counted.
    assert info == {
        "total": 5,
        "total_pages": 3,
        "page": 2,
        "per_page": 2,
        "previous_page": 1,
        "next_page": 3,
    }
    assert len(response.json) == 2


def test_page_beyond_the_end_is_empty_not_an_error(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.get("/api/v1/facilities/?page=50")
    assert response.status_code == 200 and response.json == []
    assert json.loads(response.headers["X-Pagination"])["total"] == 1
