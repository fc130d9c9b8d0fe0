"""A fake WhatsApp Cloud API on a real socket, for tests and benchmarks.

In a test::

    with FakeCloudApi() as fake:
        client = CloudApiClient(
            fake.base_url, fake.api_version, "123", fake.access_token, allowed_hosts=["127.0.0.1"]
        )
        fake.fail(130429, times=2)
        ...
        assert fake.received(callback="log=1") == 3

As a process (benchmarks)::

    python -m tests.fakes.cloud_api --port 8999 --latency-ms 50

`GET /{version}/{phone-number-id}?fields=...` answers Meta's phone number lookup (see
tests/fakes/phone_numbers.py; `add_number` lets another token read another id); lookups are
counted apart (`lookups`), not in the send counters. `GET /{version}/{waba-id}/message_templates`
lists `templates` (tests/fakes/templates.py), paged by cursor as Meta does; template sends are
refused from that catalog as Meta refuses them (132001, 132015, 132016, 132000: see there), and
malformed template components with 100 / 131008. A send may name `recipient` (a business-scoped
user id) instead of `to`; `to` wins when both are given.

Steer it over HTTP: `POST /_control` with `{"reset": true, "latency_ms": 0,
"rules": [{"action": "error", "code": 130429, "fraction": 0.05}], "strict_templates": true,
"templates": [{"name": "spring_sale", "language": "en_US", "status": "PAUSED"}]}` (rule fields as
in `Rule`; a `templates` item changes that template's status), `GET /_stats` (`?detail=0` for
counts only), `GET /_requests` (kept bodies).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import signal
import threading
from typing import Any

from tests.fakes import meta_format as meta
from tests.fakes.cloud_api_script import Counters, Rule, Script
from tests.fakes.http11 import Drop, Hang, Http11Protocol, Outcome, Reply, Request, serve
from tests.fakes.phone_numbers import DISPLAY_PHONE_NUMBER, PhoneNumbers, lookup_id
from tests.fakes.templates import TemplateCatalog, templates_path

DEFAULT_TOKEN = "fake-access-token"
_MESSAGES_PATH = re.compile(r"^/(v\d+(?:\.\d+)?)/([^/]+)/messages$")


class FakeCloudApi:
    """Thread-safe: steer and read it from any thread while its event loop thread serves."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token: str = DEFAULT_TOKEN,
        phone_number_id: str | None = None,  # None: any id in the path is accepted
        latency_ms: float = 0,
        keep_bodies: int | None = None,  # None: keep every request body; 0: counters only
        seed: int | None = None,
        display_phone_number: str = DISPLAY_PHONE_NUMBER,
        strict_templates: bool = False,  # refuse sends of templates not in `templates`: 132001
    ) -> None:
        self.host, self.port = host, port
        self.access_token = access_token
        self.phone_number_id = phone_number_id or "100000000000001"
        self._any_phone_id = phone_number_id is None
        self._numbers = PhoneNumbers(access_token, phone_number_id, display_phone_number)
        # GET /{version}/{waba}/message_templates, and the templates sends are checked against.
        self.templates = TemplateCatalog(access_token, strict=strict_templates)
        self.api_version = "v21.0"
        self._lock = threading.Lock()
        self._latency = latency_ms / 1000
        self._script = Script(seed)
        self._counters = Counters(keep_bodies)
        self._wamid_prefix = "wamid.FAKE" + secrets.token_hex(4).upper()
        self._wamids = 0
        self._live: set[Http11Protocol] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeCloudApi:
        loop = asyncio.new_event_loop()
        self._server = loop.run_until_complete(
            serve(self._handle, self._on_head, self.host, self.port, self._live)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-cloud-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        future.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        self._loop = self._thread = self._server = None

    async def _shutdown(self) -> None:
        self._server.close()
        for connection in list(self._live):
            connection.close()
        await asyncio.sleep(0.01)  # let the closed connections finish (connection_lost)

    def __enter__(self) -> FakeCloudApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- steering ---------------------------------------------------------------------------

    @property
    def latency_ms(self) -> float:
        return self._latency * 1000

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self._latency = value / 1000

    def add_rule(self, rule: Rule) -> Rule:
        with self._lock:
            self._script.add(rule)
        return rule

    def fail(self, code: int, **selectors: Any) -> Rule:
        """Answer Meta's error `code`; with no times/fraction/to, for the next request only."""
        return self.add_rule(Rule("error", code=code, **_once(selectors)))

    def html_error(self, status: int = 502, **selectors: Any) -> Rule:
        """Answer a 5xx with an HTML page (a proxy or load balancer talking, not the API)."""
        return self.add_rule(Rule("html", status=status, **_once(selectors)))

    def hang(self, seconds: float = 60.0, **selectors: Any) -> Rule:
        """Read the request, never answer (past the client's read timeout)."""
        return self.add_rule(Rule("hang", seconds=seconds, **_once(selectors)))

    def drop(self, *, after_body: bool = True, **selectors: Any) -> Rule:
        """Close the connection without answering, after reading the body or before it."""
        action = "drop_after_body" if after_body else "drop_before_body"
        return self.add_rule(Rule(action, **_once(selectors)))

    def set_template_status(self, name: str, language: str = "en_US", status: str = "APPROVED"):
        """Meta changed a template's status: its sends are refused (PAUSED, DISABLED, ...) or
        accepted again (APPROVED). The template list shows the new status too."""
        self.templates.set_status(name, language, status)

    def add_number(self, phone_number_id: str, access_token: str) -> None:
        """Let `access_token` read `phone_number_id` in lookups (as well as any token that
        could already)."""
        self._numbers.add(phone_number_id, access_token)

    def reset(self) -> None:
        """Forget rules, latency and counts."""
        with self._lock:
            self._script.clear()
            self._counters.reset()
            self._latency = 0.0

    # --- reading ----------------------------------------------------------------------------

    @property
    def lookups(self) -> int:
        """Phone number lookups (`GET /{version}/{id}`) answered, verified or refused."""
        return self._numbers.lookups

    @property
    def display_phone_number(self) -> str:
        return self._numbers.display_phone_number

    @property
    def requests(self) -> int:
        with self._lock:
            return self._counters.requests

    def received(self, *, to: str | None = None, callback: str | None = None) -> int:
        """Send requests whose body was read, in all or for one recipient or callback data."""
        with self._lock:
            if to is not None:
                return self._counters.received_by_to[to.lstrip("+")]
            if callback is not None:
                return self._counters.received_by_callback[callback]
            return self._counters.bodies_read

    def accepted(self, *, callback: str | None = None) -> int:
        """Sends answered 200 with a wamid."""
        with self._lock:
            if callback is None:
                return self._counters.accepted
            return self._counters.accepted_by_callback[callback]

    def wamid_for(self, callback: str) -> str | None:
        """The wamid of the (last) send with this callback data answered 200, else None."""
        with self._lock:
            return self._counters.wamid_by_callback.get(callback)

    def records(self) -> list[dict[str, Any]]:
        """Kept requests, oldest first: {"body", "outcome", "wamid"}."""
        with self._lock:
            return list(self._counters.records)

    def stats(self, detail: bool = True) -> dict[str, Any]:
        with self._lock:
            return self._counters.snapshot(detail)

    # --- serving (event loop thread) --------------------------------------------------------

    def _on_head(self, request: Request) -> Drop | None:
        if request.path.startswith("/_") or lookup_id(request.method, request.path):
            return None
        if templates_path(request.method, request.path):
            return None
        with self._lock:
            rule = self._script.take(None, before_body=True)
            if rule is None:
                return None
            self._counters.request()
            self._counters.outcome("drop_before_body", None, None)
        return Drop(abort=True)

    def _handle(self, request: Request) -> Outcome:
        if request.path.startswith("/_"):
            return self._control(request)
        if lookup_id(request.method, request.path):
            status, body = self._numbers.answer(
                request.path, request.headers.get("authorization", "")
            )
            return Reply(status, body)
        if templates_path(request.method, request.path):
            auth = request.headers.get("authorization", "")
            return Reply(*self.templates.answer(request.path, auth))
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        fields = payload if isinstance(payload, dict) else {}
        to, callback = meta.address(fields), fields.get("biz_opaque_callback_data")
        callback = callback if isinstance(callback, str) else None
        refusal = self._refusal(request, payload)  # outside the lock: the catalog has its own
        with self._lock:
            self._counters.request()
            self._counters.received(to, callback)
            rule = None if refusal else self._script.take(to, before_body=False)
            outcome, wamid = self._outcome(refusal, rule, to, fields)
            label = str(outcome.status) if isinstance(outcome, Reply) else rule.action
            self._counters.outcome(label, payload, callback, wamid)
        if isinstance(outcome, Reply):
            outcome.delay = self._latency
        return outcome

    def _refusal(self, request: Request, payload: Any) -> Reply | None:
        """Meta's answer to a request it refuses before looking at the script."""
        path = request.path.split("?", 1)[0]
        match = _MESSAGES_PATH.match(path)
        if match is None or (not self._any_phone_id and match[2] != self.phone_number_id):
            message = f"Unsupported post request. Object with ID '{path}' does not exist"
            return _error(100, message=f"(#100) {message}")
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return _error(190, status=401, message=meta.INVALID_TOKEN)
        if request.method != "POST":
            return _error(100, message=f"(#100) Unsupported {request.method.lower()} request.")
        problem = meta.invalid(payload)
        if problem:
            return _error(100, message=problem)
        if payload["type"] not in meta.MESSAGE_TYPES:
            return _error(131051)
        return self._template_refusal(payload)

    def _template_refusal(self, payload: dict[str, Any]) -> Reply | None:
        """Malformed components (100, 131008), then the catalog's word (132001, 132015, ...)."""
        if payload["type"] != "template":
            return None
        template = payload["template"]
        problem = meta.template_problem(template) or self.templates.refusal(template)
        return _error(problem[0], details=problem[1]) if problem else None

    def _outcome(
        self, refusal: Reply | None, rule: Rule | None, to: str | None, fields: dict[str, Any]
    ) -> tuple[Outcome, str | None]:
        if refusal is not None:
            return refusal, None
        if rule is None:
            self._wamids += 1
            wamid = f"{self._wamid_prefix}{self._wamids:010d}"
            phone = fields.get("to") if isinstance(fields.get("to"), str) else ""
            template = fields.get("type") == "template"
            body = meta.ok_body(phone, wamid, template, user_id=fields.get("recipient"))
            return Reply(200, body), wamid
        if rule.action == "error":
            return _error(rule.code, status=rule.status, message=rule.message), None
        if rule.action == "html":
            status = rule.status or 502
            return Reply(status, meta.html_body(status), "text/html; charset=utf-8"), None
        if rule.action == "hang":
            return Hang(rule.seconds), None
        return Drop(), None

    def _control(self, request: Request) -> Reply:
        path, _, query = request.path.partition("?")
        if request.method == "GET" and path == "/_stats":
            return _json(200, self.stats(detail="detail=0" not in query))
        if request.method == "GET" and path == "/_requests":
            return _json(200, self.records())
        if request.method == "POST" and path == "/_control":
            try:
                return _json(200, self._apply_control(json.loads(request.body or b"{}")))
            except (ValueError, TypeError, KeyError) as exc:
                return _json(400, {"error": str(exc)})
        return _json(404, {"error": f"no control endpoint {request.method} {path}"})

    def _apply_control(self, command: dict[str, Any]) -> dict[str, Any]:
        rules = [Rule.from_json(rule) for rule in command.get("rules", [])]
        if command.get("reset"):
            self.reset()
        if "latency_ms" in command:
            self.latency_ms = float(command["latency_ms"])
        if "strict_templates" in command:
            self.templates.strict = bool(command["strict_templates"])
        for item in command.get("templates", []):
            self.templates.set_status(item["name"], item.get("language", "en_US"), item["status"])
        for rule in rules:
            self.add_rule(rule)
        with self._lock:
            return {"rules": len(self._script.rules), "latency_ms": self.latency_ms}


def _once(selectors: dict[str, Any]) -> dict[str, Any]:
    if not any(selectors.get(key) is not None for key in ("times", "fraction", "to")):
        selectors = {**selectors, "times": 1}
    return selectors


def _error(
    code: int,
    *,
    status: int | None = None,
    message: str | None = None,
    details: str | None = None,
) -> Reply:
    return Reply(status or meta.status_for(code), meta.error_body(code, message, details))


def _json(status: int, data: Any) -> Reply:
    return Reply(status, json.dumps(data).encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake WhatsApp Cloud API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--phone-number-id", default=None)
    parser.add_argument("--display-phone-number", default=DISPLAY_PHONE_NUMBER)
    parser.add_argument("--keep-bodies", type=int, default=0, help="request bodies to keep")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--strict-templates", action="store_true", help="refuse unknown ones")
    args = parser.parse_args(argv)
    fake = FakeCloudApi(
        host=args.host,
        port=args.port,
        access_token=args.token,
        phone_number_id=args.phone_number_id,
        latency_ms=args.latency_ms,
        keep_bodies=args.keep_bodies,
        seed=args.seed,
        display_phone_number=args.display_phone_number,
        strict_templates=args.strict_templates,
    )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with fake:
        print(f"fake Cloud API listening on {fake.base_url}", flush=True)
        while not stopping.wait(1):
            pass


if __name__ == "__main__":
    main()
