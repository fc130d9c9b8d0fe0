"""The Cloud API client against the fake Cloud API over real sockets (no database)."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app.whatsapp import CloudApiClient, ErrorKind, Provider, SendError, SendResult
from app.whatsapp.pool import new_http_client
from tests.fakes.cloud_api import FakeCloudApi

FIXTURES = Path(__file__).parents[1] / "fakes" / "fixtures"
PHONE_ID = "900000000000001"
LOCAL = ["127.0.0.1"]  # the fake's host, allowed besides Meta's
ANA = "+447700900123"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def server():
    with FakeCloudApi(phone_number_id=PHONE_ID, seed=7) as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    server.reset()


@pytest.fixture(params=["wire", "httpx"])
def http(request):
    """The client as it sends (None: the shared wire, app.whatsapp.wire) and on an injected
    httpx client: both classify every answer and failure the same way."""
    if request.param == "wire":
        yield None
        return
    pool = new_http_client()
    yield pool
    pool.close()


def make_client(fake, http=None, token=None, **timeouts) -> CloudApiClient:
    return CloudApiClient(
        fake.base_url,
        fake.api_version,
        PHONE_ID,
        token or fake.access_token,
        http=http,
        allowed_hosts=LOCAL,
        **({"connect_timeout": 2, "read_timeout": 2} | timeouts),
    )


@pytest.fixture
def client(fake, http):
    return make_client(fake, http)


def send_error(call, *args) -> SendError:
    with pytest.raises(SendError) as caught:
        call(*args)
    return caught.value


def test_text_request_is_exactly_the_fixture_and_the_wamid_is_parsed(fake, client):
    result = client.send_text(ANA, "Hi Ana, here is the guide you asked for.", "log=981")
    [record] = fake.records()
    assert record["body"] == fixture("send_text_request.json")
    assert isinstance(result, SendResult)
    assert result.wamid == record["wamid"]
    assert result.wamid.startswith("wamid.")


def test_template_request_is_exactly_the_fixture(fake, client):
    client.send_template(ANA, "drip_day3_followup", "en_US", ["Ana", "20% off"], "log=982")
    assert fake.records()[0]["body"] == fixture("send_template_request.json")


def test_template_without_parameters_has_no_components_and_links_get_a_preview(fake, client):
    client.send_template("447700900123", "welcome", "en_US", [], "log=1")
    client.send_text("44 7700 900123", "Read https://example.com/guide", None)
    template, text = (record["body"] for record in fake.records())
    assert template["template"] == {"name": "welcome", "language": {"code": "en_US"}}
    assert text["to"] == "447700900123"
    assert text["text"]["preview_url"] is True
    assert "biz_opaque_callback_data" not in text


def test_client_is_a_provider(client):
    assert isinstance(client, Provider)


def test_an_invalid_number_fails_permanently_without_a_request(fake, client):
    error = send_error(client.send_text, "not a number", "hi", "log=1")
    assert error.kind is ErrorKind.PERMANENT
    assert fake.requests == 0


@pytest.mark.parametrize(
    ("code", "kind", "status"),
    [
        (130429, ErrorKind.RETRY, 429),
        (131056, ErrorKind.RETRY, 400),
        (131000, ErrorKind.RETRY, 500),
        (2, ErrorKind.RETRY, 503),
        (80007, ErrorKind.RETRY_LATER, 400),
        (131057, ErrorKind.RETRY_LATER, 503),
        (131047, ErrorKind.PERMANENT, 400),
        (131050, ErrorKind.PERMANENT, 400),
        (132001, ErrorKind.PERMANENT, 404),  # Meta answers "Template does not exist" 404
        (100, ErrorKind.PERMANENT, 400),
        (190, ErrorKind.STOP_ACCOUNT, 401),
        (368, ErrorKind.STOP_ACCOUNT, 403),
        (131042, ErrorKind.STOP_ACCOUNT, 400),
    ],
)
def test_meta_errors_are_classified_by_code(fake, client, code, kind, status):
    fake.fail(code)
    error = send_error(client.send_text, ANA, "hi", "log=1")
    assert (error.kind, error.code, error.http_status) == (kind, str(code), status)
    assert error.reason
    assert client.send_text(ANA, "hi", "log=1").wamid  # the rule applied once


def test_the_code_decides_not_the_status(fake, client):
    fake.fail(130429, status=400)
    fake.fail(131047, status=500)
    assert send_error(client.send_text, ANA, "a", "log=1").kind is ErrorKind.RETRY
    assert send_error(client.send_text, ANA, "b", "log=2").kind is ErrorKind.PERMANENT


def test_wrong_token_stops_the_account_and_the_token_is_never_shown(fake, http, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "EAAG-very-secret-token"
    client = make_client(fake, http, token=secret)
    error = send_error(client.send_text, ANA, "hi", "log=1")
    assert (error.kind, error.code, error.http_status) == (ErrorKind.STOP_ACCOUNT, "190", 401)
    shown = [caplog.text, str(error), repr(error), repr(client), error.reason, str(error.title)]
    assert not any(secret in text for text in shown)


def test_a_read_timeout_is_ambiguous_and_the_fake_did_receive_it(fake, http):
    client = make_client(fake, http, read_timeout=0.3)
    fake.hang(seconds=5)
    started = time.monotonic()
    error = send_error(client.send_text, ANA, "hi", "log=7")
    assert time.monotonic() - started >= 0.25  # the timeout did happen
    assert error.kind is ErrorKind.AMBIGUOUS
    assert error.max_attempts == 1
    assert fake.received(callback="log=7") == 1
    assert client.send_text(ANA, "hi", "log=8").wamid  # the pool recovers


def test_connection_refused_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CloudApiClient(
        f"http://127.0.0.1:{port}", "v21.0", PHONE_ID, "t", connect_timeout=1, allowed_hosts=LOCAL
    )
    error = send_error(client.send_text, ANA, "hi", "log=1")
    assert error.kind is ErrorKind.RETRY
    assert error.title == "ConnectError"


@pytest.mark.parametrize("after_body", [True, False])
def test_a_dropped_connection_is_ambiguous(fake, client, after_body):
    fake.drop(after_body=after_body)
    error = send_error(client.send_text, ANA, "hi", "log=5")
    assert error.kind is ErrorKind.AMBIGUOUS
    assert fake.requests == 1
    # Only a drop after the body could have been acted on; the client cannot tell them apart.
    assert fake.received(callback="log=5") == (1 if after_body else 0)
    assert client.send_text(ANA, "hi", "log=6").wamid


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (502, ErrorKind.RETRY),
        (503, ErrorKind.RETRY),
        (429, ErrorKind.RETRY_LATER),
        (404, ErrorKind.PERMANENT),
    ],
)
def test_an_html_error_page_is_classified_by_status(fake, client, status, kind):
    fake.html_error(status=status)
    error = send_error(client.send_text, ANA, "hi", "log=1")
    assert (error.kind, error.code, error.http_status) == (kind, None, status)


def test_a_200_without_a_wamid_is_ambiguous():
    answer = httpx.MockTransport(lambda request: httpx.Response(200, json={"messages": []}))
    client = CloudApiClient(
        "http://x.test",
        "v21.0",
        PHONE_ID,
        "t",
        http=httpx.Client(transport=answer),
        allowed_hosts=["x.test"],
    )
    error = send_error(client.send_text, ANA, "hi", "log=1")
    assert (error.kind, error.http_status) == (ErrorKind.AMBIGUOUS, 200)


def test_a_full_pool_times_out_as_retryable_not_sent(fake):
    pool = new_http_client(max_connections=1)
    slow = make_client(fake, pool, read_timeout=5)
    quick = make_client(fake, pool, connect_timeout=0.2)
    fake.hang(seconds=1)  # the quick send gives up long before the hung one returns
    outcomes = []

    def send_into_the_hang():
        try:
            slow.send_text(ANA, "a", "log=1")
        except SendError as error:
            outcomes.append(error.kind)

    hung = threading.Thread(target=send_into_the_hang)
    hung.start()
    deadline = time.monotonic() + 5
    while fake.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    error = send_error(quick.send_text, ANA, "b", "log=2")
    hung.join()
    pool.close()
    assert (error.kind, error.title) == (ErrorKind.RETRY, "PoolTimeout")
    assert fake.received(callback="log=2") == 0
    assert outcomes == [ErrorKind.AMBIGUOUS]  # the fake closed the hung connection unanswered


def test_latency_is_honoured(fake, client):
    fake.latency_ms = 200
    started = time.monotonic()
    client.send_text(ANA, "hi", "log=1")
    assert time.monotonic() - started >= 0.15


def test_counting_by_callback_recipient_and_outcome(fake, client):
    fake.fail(130429, times=2)
    for _ in range(3):
        try:
            client.send_text(ANA, "hi", "log=1")
        except SendError:
            pass
    client.send_text("+447700900456", "hi", "log=2")
    assert fake.received(callback="log=1") == 3
    assert fake.accepted(callback="log=1") == 1
    assert fake.received(to=ANA) == 3
    assert fake.received(to="447700900456") == 1
    assert fake.stats()["outcomes"] == {"429": 2, "200": 2}


def test_rules_by_recipient_and_by_fraction(fake, client):
    fake.fail(131026, to="+447700900456")
    for _ in range(2):
        error = send_error(client.send_text, "+447700900456", "hi", None)
        assert error.kind is ErrorKind.PERMANENT
    assert client.send_text(ANA, "hi", None).wamid
    fake.reset()
    fake.fail(130429, fraction=0.5)
    outcomes = []
    for n in range(40):
        try:
            outcomes.append(bool(client.send_text(ANA, "hi", f"log={n}")))
        except SendError as error:
            outcomes.append(error.kind is not ErrorKind.RETRY)
    assert 5 < outcomes.count(True) < 35
    assert fake.accepted() == outcomes.count(True)


def test_a_malformed_request_gets_meta_code_100(fake):
    headers = {"Authorization": f"Bearer {fake.access_token}"}
    url = f"{fake.base_url}/v21.0/{PHONE_ID}/messages"
    for body in ({"messaging_product": "whatsapp", "type": "text"}, {"to": "1", "type": None}):
        answer = httpx.post(url, json=body, headers=headers)
        assert answer.status_code == 400
        error = SendError.from_api_error(answer.json()["error"], answer.status_code)
        assert (error.code, error.kind) == ("100", ErrorKind.PERMANENT)


def test_200_sends_from_20_threads_are_each_counted_once(fake):
    client = make_client(fake)  # the shared module-level pool
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda n: client.send_text(ANA, "hi", f"log={n}"), range(200)))
    assert len({result.wamid for result in results}) == 200
    assert fake.requests == fake.accepted() == 200
    assert all(fake.received(callback=f"log={n}") == 1 for n in range(200))


def test_control_over_http(fake, client):
    answer = httpx.post(
        f"{fake.base_url}/_control",
        json={"rules": [{"action": "error", "code": 131049, "times": 1}], "latency_ms": 0},
    )
    assert answer.json()["rules"] == 1
    assert send_error(client.send_text, ANA, "hi", "log=1").code == "131049"
    stats = httpx.get(f"{fake.base_url}/_stats").json()
    assert stats["received_by_callback"] == {"log=1": 1}
    assert httpx.post(f"{fake.base_url}/_control", json={"rules": [{"nope": 1}]}).is_error


def test_the_fake_runs_as_a_separate_process(http):
    command = [sys.executable, "-m", "tests.fakes.cloud_api", "--port", "0", "--latency-ms", "5"]
    root = Path(__file__).parents[2]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        base_url = re.search(r"http://\S+", process.stdout.readline()).group(0)
        client = CloudApiClient(
            base_url, "v21.0", PHONE_ID, "fake-access-token", http=http, allowed_hosts=LOCAL
        )
        assert client.send_text(ANA, "hi", "log=1").wamid
        stats = httpx.get(f"{base_url}/_stats?detail=0").json()
        assert (stats["requests"], stats["accepted"]) == (1, 1)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_a_token_that_cannot_go_in_a_header_stops_the_account_and_sends_nothing(fake, http):
    """A pasted token with a line break in it: the request cannot be formed (nothing leaves),
    and every send of the account would fail the same way."""
    client = make_client(fake, http, token="EAAG-token\nX-Injected: 1")
    error = send_error(client.send_text, ANA, "hi", "log=1")
    assert error.kind is ErrorKind.STOP_ACCOUNT
    assert "could not be formed" in error.reason
    assert fake.requests == 0


def test_the_wire_reuses_its_connections_and_drops_one_the_server_closed(fake):
    from app.whatsapp.wire import Target, Wire

    wire = Wire()
    target = Target.of(make_client(fake).url)
    headers = {"Authorization": f"Bearer {fake.access_token}", "Content-Type": "application/json"}
    body = b'{"messaging_product":"whatsapp","to":"447700900123","type":"text","text":{"body":"x"}}'
    for _ in range(3):
        assert wire.post(target, body, headers, 2, 2)[0] == 200
    [(connection, _)] = wire._idle[target.origin]  # one connection carried the three
    connection.sock.shutdown(socket.SHUT_RDWR)  # as a server closing an idle connection does
    assert wire.post(target, body, headers, 2, 2)[0] == 200  # a new one, not an error
    assert fake.accepted() == 4
    wire.close()
