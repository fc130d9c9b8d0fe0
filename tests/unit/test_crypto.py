from __future__ import annotations

import pytest

from app.crypto import SecretBox, constant_time_equals, sha256_hex


def test_secret_box_round_trip_and_ciphertext_hides_the_secret():
    box = SecretBox("key one")
    token = box.encrypt("EAAG-access-token")
    assert "EAAG" not in token
    assert box.decrypt(token) == "EAAG-access-token"
    assert box.encrypt("same") != box.encrypt("same")  # random IV


def test_another_secret_key_cannot_read_it():
    token = SecretBox("key one").encrypt("secret")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        SecretBox("key two").decrypt(token)


def test_helpers():
    assert sha256_hex("abc").startswith("ba7816bf")
    assert constant_time_equals("a", b"a")
    assert not constant_time_equals("a", "b")
