"""Settings refuse what would be unsafe in production."""

import pytest

from backend.core.config import PLACEHOLDER_SECRET_KEY, Settings, SettingsError, load_settings

GOOD_KEY = "k" * 32


def production(**values: object) -> Settings:
    return load_settings(_env_file=None, environment="production", **values)


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        ("", "SECRET_KEY is not set"),
        ("k" * 31, "shorter than 32 bytes"),
        (PLACEHOLDER_SECRET_KEY, "placeholder"),
    ],
)
def test_production_refuses_a_weak_secret_key(secret_key: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        production(secret_key=secret_key)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message
    assert secret_key == "" or secret_key not in message


def test_production_accepts_a_strong_secret_key() -> None:
    settings = production(secret_key=GOOD_KEY)
    assert settings.secret_key.get_secret_value() == GOOD_KEY
    assert GOOD_KEY not in repr(settings)


def test_development_makes_a_throwaway_key() -> None:
    first = load_settings(_env_file=None, environment="development", secret_key="")
    second = load_settings(_env_file=None, environment="development", secret_key="")
    assert len(first.secret_key.get_secret_value()) >= 32
    assert first.secret_key != second.secret_key


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("algorithm", "none"),
        ("algorithm", "HS384"),
        ("database_url", "sqlite:///jobs.db"),
        ("database_url", "postgresql+psycopg://localhost"),
        ("bcrypt_rounds", 3),
        ("access_token_expire_minutes", 0),
    ],
)
def test_invalid_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(SettingsError, match=field.upper()):
        production(secret_key=GOOD_KEY, **{field: value})


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    settings = load_settings(_env_file=None, secret_key=GOOD_KEY)
    assert settings.access_token_expire_minutes == 5
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
