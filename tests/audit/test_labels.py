"""Every audit action the code records has a readable label on the audit page."""

import pathlib
import re

from eldercare.core.audit_labels import ACTION_LABELS

ROOT = pathlib.Path(__file__).resolve().parents[2] / "eldercare"
RECORD = re.compile(r"audit\.record\(\s*\"([a-z_.]+)\"")


def test_every_recorded_action_has_a_label():
    recorded = {m for path in ROOT.rglob("*.py") for m in RECORD.findall(path.read_text())}
    assert len(recorded) > 15
    assert recorded - set(ACTION_LABELS) == set()


def test_audit_page_shows_labels_in_chinese(client, auth, world):
    auth.login_as(world.user("county_staff"))
    client.post(f"/people/{world.person_a.id}/reveal-id")
    page = client.get("/audit/").get_data(as_text=True)
    assert "查看完整身份证号" in page
