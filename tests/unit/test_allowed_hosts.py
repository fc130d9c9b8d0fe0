"""Where the Cloud API client may send (app.whatsapp.hosts) and WHATSAPP_API_ALLOWED_HOSTS."""

from __future__ import annotations

import pytest

from app.config import Config, TestConfig, parse_allowed_hosts
from app.whatsapp import AllowedHosts

OPERATOR = AllowedHosts(["127.0.0.1", "proxy.internal:8443", "[::1]"])


@pytest.mark.parametrize(
    "url",
    [
        "https://graph.facebook.com",
        "https://GRAPH.facebook.com:443/",
        "https://graph.facebook.com/prefix",
        "http://127.0.0.1:8999",  # a host without a port: any port of it
        "https://127.0.0.1",
        "https://proxy.internal:8443/graph",
        "http://[::1]:5000",
    ],
)
def test_meta_and_the_operators_hosts_are_allowed(url):
    assert OPERATOR.refusal(url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest", "WHATSAPP_API_ALLOWED_HOSTS"),
        ("http://10.0.0.5:6379", "http://10.0.0.5:6379 is not one of them"),
        ("http://graph.facebook.com", "http://graph.facebook.com:80 is not one"),
        ("https://graph.facebook.com:8443", "is not one of them"),
        ("https://graph.facebook.com.evil.example", "is not one of them"),
        ("https://proxy.internal:9000", "is not one of them"),  # host:port allows that port only
        ("http://127.1:8999", "is not one of them"),  # the same address, spelled otherwise
        ("https://graph.facebook.com?", "query (?) or a fragment (#)"),
        ("https://graph.facebook.com/x?to=http://10.0.0.5", "query (?)"),
        ("https://graph.facebook.com#x", "fragment (#)"),
        ("https://graph.facebook.com@10.0.0.5", "user name or password"),
        ("https://user:pw@graph.facebook.com", "user name or password"),
        ("file:///etc/passwd", "https://"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "https://"),
        ("graph.facebook.com", "https://"),
        ("https://graph.facebook.com/a/../b", ". or .."),
        ("https://graph.facebook.com /x", "spaces"),
        ("https://graph.facebook.com\\@10.0.0.5", "backslashes"),
        ("https://127.0.0.1:http", "not a valid URL"),
        ("https:///v21.0", "no host"),
        ("", "Enter the API's address"),
    ],
)
def test_anything_else_is_refused_in_words(url, words):
    assert words in OPERATOR.refusal(url)


def test_with_no_operator_hosts_only_meta_is_allowed():
    meta_only = AllowedHosts()
    assert meta_only.refusal("https://graph.facebook.com") is None
    assert meta_only.refusal("http://127.0.0.1:8999") is not None
    assert meta_only.refusal("http://localhost") is not None


def test_the_setting_is_read_from_the_environment_and_checked():
    config = Config.from_env({"WHATSAPP_API_ALLOWED_HOSTS": " Fake.Local:8999, 127.0.0.1 ,"})
    assert config.whatsapp_api_allowed_hosts == ("fake.local:8999", "127.0.0.1")
    assert Config.from_env({}).whatsapp_api_allowed_hosts == ()
    for bad in ("http://fake.local", "fake.local/path", "a b", "host:99999", "user@host"):
        with pytest.raises(ValueError, match="WHATSAPP_API_ALLOWED_HOSTS"):
            parse_allowed_hosts(bad)


def test_the_test_config_allows_the_local_fake(tmp_path):
    settings = TestConfig(database_url="sqlite://").flask_settings(tmp_path)
    assert set(settings["WHATSAPP_API_ALLOWED_HOSTS"]) == {"127.0.0.1", "localhost"}
    production = Config(secret_key="k").flask_settings(tmp_path)
    assert production["WHATSAPP_API_ALLOWED_HOSTS"] == ()
