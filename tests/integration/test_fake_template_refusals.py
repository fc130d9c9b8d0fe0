"""The fake Cloud API refuses template sends from its own catalog as Meta does, over real
sockets (no database): 132015 paused, 132016 disabled, 132001 unknown, 132000 parameter count,
100 / 131008 for malformed components; tests steer it by method or over HTTP; a send may name
`recipient` (a business-scoped user id) instead of `to`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.whatsapp import CloudApiClient, ErrorKind, SendError
from tests.fakes.cloud_api import FakeCloudApi

SHARED = Path("/work/shared/fixtures/whatsapp")
ANA = "447700900123"
BSUID = "US.13491208655302741918"


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def send(fake, template=None, **fields) -> httpx.Response:
    body = {"messaging_product": "whatsapp", "type": "template", "template": template, **fields}
    if "to" not in fields and "recipient" not in fields:
        body["to"] = ANA
    url = f"{fake.base_url}/{fake.api_version}/{fake.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {fake.access_token}"}
    return httpx.post(url, json=body, headers=headers)


def spring_sale(*values: str, name: str = "spring_sale", language: str = "en_US") -> dict:
    parameters = [{"type": "text", "text": value} for value in values]
    template = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [{"type": "body", "parameters": parameters}]
    return template


def error_of(answer: httpx.Response) -> dict:
    return answer.json()["error"]


def test_an_approved_template_with_its_parameters_is_accepted(fake):
    answer = send(fake, spring_sale("Ana", "20%"))
    assert answer.status_code == 200
    assert answer.json()["messages"][0]["message_status"] == "accepted"


def test_a_paused_template_is_refused_as_in_meta_s_fixture(fake):
    fake.set_template_status("spring_sale", "en_US", "PAUSED")
    answer = send(fake, spring_sale("Ana", "20%"))
    expected = json.loads((SHARED / "send_error_template_paused.json").read_text())["error"]
    error = error_of(answer)
    assert answer.status_code == 400
    assert {k: error[k] for k in ("message", "type", "code", "error_data")} == {
        k: expected[k] for k in ("message", "type", "code", "error_data")
    }
    # The template list says so too.
    assert fake.templates.get("spring_sale")["status"] == "PAUSED"


def test_a_disabled_template_is_refused_with_132016(fake):
    fake.set_template_status("spring_sale", "en_US", "DISABLED")
    answer = send(fake, spring_sale("Ana", "20%"))
    error = error_of(answer)
    assert (answer.status_code, error["code"]) == (400, 132016)
    assert error["message"].startswith("(#132016) ")
    assert "Disabled" in error["error_data"]["details"]


def test_approved_again_it_is_accepted(fake):
    fake.set_template_status("spring_sale", "en_US", "PAUSED")
    assert send(fake, spring_sale("Ana", "20%")).status_code == 400
    fake.set_template_status("spring_sale", "en_US", "APPROVED")
    assert send(fake, spring_sale("Ana", "20%")).status_code == 200


def test_an_unknown_template_is_refused_only_when_strict(fake):
    assert send(fake, spring_sale(name="made_up")).status_code == 200  # old tests' default
    fake.templates.strict = True
    answer = send(fake, spring_sale(name="made_up"))
    error = error_of(answer)
    assert (answer.status_code, error["code"]) == (404, 132001)
    assert error["message"] == "(#132001) Template name does not exist in the translation"
    assert error["error_data"]["details"] == "template name (made_up) does not exist in en_US"
    # Another language of a known name is another template.
    assert error_of(send(fake, spring_sale("a", "b", language="pt_BR")))["code"] == 132001


def test_a_template_not_approved_yet_is_refused_with_132001(fake):
    fake.set_template_status("spring_sale", "en_US", "PENDING")
    assert error_of(send(fake, spring_sale("Ana", "20%")))["code"] == 132001


@pytest.mark.parametrize("values", [(), ("Ana",), ("Ana", "20%", "extra")])
def test_a_wrong_body_parameter_count_is_refused_with_132000(fake, values):
    answer = send(fake, spring_sale(*values))
    error = error_of(answer)
    assert (answer.status_code, error["code"]) == (400, 132000)
    assert error["message"] == (
        "(#132000) Number of parameters does not match the expected number of params"
    )
    assert error["error_data"]["details"] == (
        f"body: number of localizable_params ({len(values)}) does not match the expected "
        "number of params (2)"
    )


def test_malformed_components_are_refused_before_the_catalog(fake):
    empty = send(fake, spring_sale("Ana", " "))
    assert (empty.status_code, error_of(empty)["code"]) == (400, 131008)
    header = {"type": "header", "parameters": [{"type": "image", "image": {"link": "http://x"}}]}
    template = {**spring_sale("Ana", "20%"), "components": [header]}
    link = send(fake, template)
    assert (link.status_code, error_of(link)["code"]) == (400, 100)
    assert "https" in error_of(link)["error_data"]["details"]


def test_the_control_endpoint_changes_a_status_and_strictness(fake):
    control = f"{fake.base_url}/_control"
    command = {"templates": [{"name": "spring_sale", "language": "en_US", "status": "PAUSED"}]}
    assert httpx.post(control, json=command).status_code == 200
    assert error_of(send(fake, spring_sale("Ana", "20%")))["code"] == 132015
    assert httpx.post(control, json={"strict_templates": True}).status_code == 200
    assert error_of(send(fake, spring_sale(name="made_up")))["code"] == 132001
    unknown = {"templates": [{"name": "nope", "status": "PAUSED"}]}
    assert httpx.post(control, json=unknown).status_code == 400


def test_the_client_reads_the_refusals_as_permanent_template_errors(fake):
    fake.set_template_status("spring_sale", "en_US", "PAUSED")
    client = CloudApiClient(
        fake.base_url, fake.api_version, fake.phone_number_id, fake.access_token,
        allowed_hosts=[fake.host],
    )  # fmt: skip
    with pytest.raises(SendError) as refused:
        client.send_template(ANA, "spring_sale", "en_US", ["Ana", "20%"], "log=1")
    error = refused.value
    assert (error.kind, error.code, error.http_status) == (ErrorKind.PERMANENT, "132015", 400)
    assert "paused" in error.reason


def test_a_send_may_name_a_business_scoped_user_id(fake):
    answer = send(fake, spring_sale("Ana", "20%"), recipient=BSUID)
    assert answer.status_code == 200
    assert answer.json()["contacts"] == [{"input": BSUID, "user_id": BSUID}]
    assert fake.received(to=BSUID) == 1
    both = send(fake, spring_sale("Ana", "20%"), to=ANA, recipient=BSUID)
    assert both.json()["contacts"][0]["wa_id"] == ANA  # `to` wins
    assert fake.received(to=ANA) == 1 and fake.received(to=BSUID) == 1
    neither = send(fake, spring_sale("Ana", "20%"), recipient="")
    assert error_of(neither)["code"] == 100
