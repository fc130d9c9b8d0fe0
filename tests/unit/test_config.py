"""Settings come from the environment; the defaults need nothing installed."""

from __future__ import annotations

import stat

import pytest

from app.config import Config, load_or_create_secret_key, normalize_database_url


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = load_or_create_secret_key(tmp_path)
    second = load_or_create_secret_key(tmp_path)
    assert first == second
    assert len(first) >= 48
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_environment_values_win(tmp_path):
    config = Config.from_env(
        {
            "SECRET_KEY": "s3cret",
            "DATABASE_URL": "postgresql://u@db:5432/drip",
            "REDIS_URL": "redis://cache:6379/0",
            "CRON_SECRET": "tick",
        }
    )
    settings = config.flask_settings(tmp_path)
    assert settings["SECRET_KEY"] == "s3cret"
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db:5432/drip"
    assert settings["REDIS_URL"] == "redis://cache:6379/0"
    assert settings["CRON_SECRET"] == "tick"
    assert not (tmp_path / "secret_key").exists()


def test_defaults_are_embedded(tmp_path):
    settings = Config.from_env({}).flask_settings(tmp_path)
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'drip.db'}"
    assert settings["REDIS_URL"] is None  # embedded queue
    assert settings["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert settings["WTF_CSRF_ENABLED"] is True


def test_plain_postgres_urls_get_the_psycopg3_driver():
    assert normalize_database_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalize_database_url("postgresql+psycopg://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalize_database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_concurrent_passes_are_a_whole_number_of_at_least_one(tmp_path):
    assert Config.from_env({}).flask_settings(tmp_path)["PROCESSOR_CONCURRENT_PASSES"] == 1
    settings = Config.from_env({"PROCESSOR_CONCURRENT_PASSES": "4"}).flask_settings(tmp_path)
    assert settings["PROCESSOR_CONCURRENT_PASSES"] == 4
    assert settings["PROCESSOR_HAND_ON"] is True
    for wrong in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="PROCESSOR_CONCURRENT_PASSES must be a whole number"):
            Config.from_env({"PROCESSOR_CONCURRENT_PASSES": wrong})
