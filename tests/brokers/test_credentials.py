"""Credentials come only from the environment or LEAN config, and never show in a repr."""

from __future__ import annotations

import logging

import pytest

from brokers.credentials import Credentials, CredentialsError, RedactingFilter, redact

SECRET, REFRESH = "prov-secret-ABCDEF123", "refresh-token-XYZ98765"


def test_from_env_and_repr_redacts():
    c = Credentials.from_env(
        {
            "TASTYTRADE_PROVIDER_SECRET": SECRET,
            "TASTYTRADE_REFRESH_TOKEN": REFRESH,
            "TASTYTRADE_SANDBOX": "true",
            "TASTYTRADE_ACCOUNT_NUMBER": "5WT12345",
        }
    )
    assert c.sandbox and c.environment == "sandbox" and c.account_number == "5WT12345"
    for text in (repr(c), str(c), f"{c}", repr([c])):
        assert SECRET not in text and REFRESH not in text and "5WT12345" not in text
    assert "sandbox" in repr(c)


def test_missing_env_names_the_variables_not_values():
    with pytest.raises(CredentialsError, match="TASTYTRADE_REFRESH_TOKEN") as e:
        Credentials.from_env({"TASTYTRADE_PROVIDER_SECRET": SECRET})
    assert SECRET not in str(e.value)


def test_bad_sandbox_flag():
    with pytest.raises(CredentialsError, match="TASTYTRADE_SANDBOX"):
        Credentials.from_env(
            {
                "TASTYTRADE_PROVIDER_SECRET": SECRET,
                "TASTYTRADE_REFRESH_TOKEN": REFRESH,
                "TASTYTRADE_SANDBOX": "maybe",
            }
        )


def test_from_lean_config():
    c = Credentials.from_config(
        {
            "tastytrade-client-secret": SECRET,
            "tastytrade-refresh-token": REFRESH,
            "tastytrade-environment": "paper",
        }
    )
    assert c.sandbox and c.provider_secret == SECRET
    prod = Credentials.from_config(
        {"tastytrade-provider-secret": SECRET, "tastytrade-refresh-token": REFRESH}
    )
    assert not prod.sandbox
    cert = Credentials.from_config(
        {
            "tastytrade-provider-secret": SECRET,
            "tastytrade-refresh-token": REFRESH,
            "tastytrade-api-url": "https://api.cert.tastyworks.com",
        }
    )
    assert cert.sandbox
    with pytest.raises(CredentialsError, match="tastytrade-refresh-token"):
        Credentials.from_config({"tastytrade-provider-secret": SECRET})
    with pytest.raises(CredentialsError, match="sandbox or production"):
        Credentials.from_config(
            {
                "tastytrade-provider-secret": SECRET,
                "tastytrade-refresh-token": REFRESH,
                "tastytrade-environment": "x",
            }
        )


def test_load_prefers_environment_then_config():
    env = {"TASTYTRADE_PROVIDER_SECRET": SECRET, "TASTYTRADE_REFRESH_TOKEN": REFRESH}
    cfg = {"tastytrade-provider-secret": "other-secret-1", "tastytrade-refresh-token": "other-refresh-1"}
    assert Credentials.load(cfg, env).provider_secret == SECRET
    assert Credentials.load(cfg, {}).provider_secret == "other-secret-1"
    with pytest.raises(CredentialsError, match="no Tastytrade credentials"):
        Credentials.load(None, {})


def test_empty_values_rejected():
    with pytest.raises(CredentialsError):
        Credentials("  ", REFRESH)


def test_redaction_of_registered_secrets():
    Credentials(SECRET, REFRESH)
    assert redact(f"token={REFRESH} secret={SECRET}") == "token=*** secret=***"
    record = logging.LogRecord("brokers", logging.INFO, __file__, 1, "refresh %s", (REFRESH,), None)
    RedactingFilter().filter(record)
    assert REFRESH not in record.getMessage()
