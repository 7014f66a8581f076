"""Encryption at rest of ID numbers and health notes, blind indexes, and key rotation."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm.attributes import flag_modified

from eldercare.core import crypto
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person, id_number_index
from eldercare.people.operations import find_by_id_number

NUMBER = "61032219500601005X"  # a real check digit X (see test_the_sample_number_is_valid)


def _raw_person_row(person_id: int):
    return db.session.execute(
        sa.text("SELECT id_number, id_number_index, id_number_masked FROM person WHERE id = :id"),
        {"id": person_id},
    ).one()


@pytest.fixture
def keys(app, monkeypatch):
    """Set the data keys (and blind index key) for the rest of the test; restored after."""

    def use(data_keys: str, blind: str | None = None) -> None:
        monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEY", data_keys)
        monkeypatch.setitem(app.config, "BLIND_INDEX_KEY", blind)

    return use


def test_the_sample_number_is_valid():
    from eldercare.core.resident_id import parse

    assert parse(NUMBER).number == NUMBER


# --- at rest ----------------------------------------------------------------------------


def test_id_number_is_stored_encrypted(make_region, make_person, app):
    person = make_person(make_region("610302006201"), id_number=NUMBER)
    raw = _raw_person_row(person.id)
    assert NUMBER not in raw.id_number
    assert NUMBER[:17] not in raw.id_number
    assert "19500601" not in raw.id_number
    # A Fernet token under the configured key, readable without the application code.
    assert Fernet(app.config["DATA_ENCRYPTION_KEY"].encode()).decrypt(raw.id_number.encode()) == (
        NUMBER.encode()
    )
    # Neither the index nor the masked copy give the number away.
    assert NUMBER not in raw.id_number_index
    assert raw.id_number_masked == "610**************X"


def test_id_number_decrypts_back_when_read(make_region, make_person):
    person = make_person(make_region("610302006201"), id_number=NUMBER)
    person_id = person.id
    db.session.expire_all()
    assert db.session.get(Person, person_id).id_number == NUMBER


def test_same_plaintext_encrypts_differently_each_time():
    """Fernet uses a random IV: equal ciphertexts would reveal equal ID numbers."""
    assert crypto.encrypt(NUMBER) != crypto.encrypt(NUMBER)
    assert crypto.decrypt(crypto.encrypt(NUMBER)) == NUMBER


def test_assessment_notes_are_stored_encrypted(make_region, make_person):
    person = make_person(make_region("610302006201"))
    db.session.add(
        AbilityAssessment(
            person=person, assessed_on=date(2025, 1, 1), level="mild", notes="糖尿病，右腿骨折"
        )
    )
    db.session.flush()
    raw = db.session.execute(
        sa.text("SELECT notes FROM ability_assessment WHERE person_id = :id"), {"id": person.id}
    ).scalar_one()
    assert "糖尿病" not in raw
    assert crypto.decrypt(raw) == "糖尿病，右腿骨折"


def test_null_stays_null():
    column = crypto.EncryptedString()
    assert column.process_bind_param(None, None) is None
    assert column.process_result_value(None, None) is None


def test_missing_key_is_an_error(keys):
    keys("")
    with pytest.raises(RuntimeError):
        crypto.encrypt("x")


def test_value_under_an_unknown_key_cannot_be_read(keys):
    keys("some-other-key")
    token = crypto.encrypt(NUMBER)
    keys("yet-another-key")
    with pytest.raises(RuntimeError):
        crypto.decrypt(token)


# --- blind index ------------------------------------------------------------------------


def test_blind_index_is_equal_for_the_same_number():
    assert id_number_index(NUMBER) == id_number_index(NUMBER)
    assert id_number_index(NUMBER) == id_number_index(NUMBER.lower())
    assert id_number_index(NUMBER) == id_number_index(" 610322 19500601 005x ")


def test_blind_index_differs_for_different_numbers():
    other = "610322195006010033"
    assert id_number_index(NUMBER) != id_number_index(other)


def test_blind_index_depends_on_purpose_and_key(keys):
    index = crypto.blind_index(NUMBER, "resident-id")
    assert crypto.blind_index(NUMBER, "bank-account") != index
    # Keyed: not a bare hash that anyone could compute for all ~10^10 plausible numbers.
    assert index != hashlib.sha256(NUMBER.encode()).hexdigest()
    assert index != hashlib.sha256(f"resident-id:{NUMBER}".encode()).hexdigest()
    keys("another-deployment-key")
    assert crypto.blind_index(NUMBER, "resident-id") != index


def test_lookup_by_id_number_uses_the_index(make_region, make_person):
    person = make_person(make_region("610302006201"), id_number=NUMBER)
    assert find_by_id_number(NUMBER.lower()) is person
    assert find_by_id_number("610322195006010033") is None


# --- key rotation -----------------------------------------------------------------------


def test_rotation_old_values_still_decrypt(keys):
    keys("oldkey")
    token = crypto.encrypt(NUMBER)
    keys("newkey,oldkey")
    assert crypto.decrypt(token) == NUMBER


def test_rotation_new_values_use_the_first_key(keys):
    keys("newkey,oldkey")
    token = crypto.encrypt(NUMBER)
    keys("newkey")
    assert crypto.decrypt(token) == NUMBER
    keys("oldkey")
    with pytest.raises(RuntimeError):
        crypto.decrypt(token)


def test_rotation_accepts_fernet_keys_and_passphrases_mixed(keys):
    fernet_key = Fernet.generate_key().decode()
    keys(fernet_key)
    token = crypto.encrypt(NUMBER)
    assert Fernet(fernet_key.encode()).decrypt(token.encode()) == NUMBER.encode()
    keys(f"a passphrase, {fernet_key}")
    assert crypto.decrypt(token) == NUMBER


def test_rotation_keeps_blind_indexes_valid(keys):
    """A new key put in front must not change the index: stored indexes would stop matching
    and the same person could be registered twice."""
    keys("oldkey")
    before = crypto.blind_index(NUMBER, "resident-id")
    keys("newkey,oldkey")
    assert crypto.blind_index(NUMBER, "resident-id") == before
    # Dropping the old key afterwards: the operator names it as the blind index key.
    keys("newkey", blind="oldkey")
    assert crypto.blind_index(NUMBER, "resident-id") == before


def test_person_stored_under_old_key_is_found_and_read_after_rotation(
    keys, make_region, make_person
):
    keys("oldkey")
    person = make_person(make_region("610302006201"), id_number=NUMBER)
    person_id = person.id
    raw_before = _raw_person_row(person_id).id_number
    db.session.expire_all()

    keys("newkey,oldkey")
    found = find_by_id_number(NUMBER)
    assert found is not None and found.id == person_id
    assert found.id_number == NUMBER

    # Re-encrypting (what a rotation job does) writes a token under the new key.
    flag_modified(found, "id_number")
    db.session.flush()
    raw_after = _raw_person_row(person_id).id_number
    assert raw_after != raw_before
    db.session.expire_all()
    keys("newkey", blind="oldkey")
    assert db.session.get(Person, person_id).id_number == NUMBER
    assert find_by_id_number(NUMBER).id == person_id
