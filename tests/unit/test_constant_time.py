"""Secrets are compared in constant time: no `==` or `!=` in app/ between a value named like
a secret (token, signature, secret, digest, password, key hash) and anything but a constant.

A database lookup by the SHA-256 of a random key is not a comparison in Python, and a hash
that guards nothing (a webhook body's, for de-duplication) is no secret: those are listed in
ALLOWED with the reason. A new comparison of a secret fails here until it uses
hmac.compare_digest (app.crypto.constant_time_equals) or is listed with its reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
SECRET_NAME = re.compile(r"secret|token|signature|digest|password|key_hash|verify", re.IGNORECASE)
# (file, the comparison's source) -> why it is not a secret compared in Python.
ALLOWED = {
    (
        "drip/accounts/api_keys.py",
        "ApiKey.key_hash == sha256_hex(token)",
    ): "SQL lookup by the SHA-256 of a 256-bit random key: its timing reveals nothing usable",
    (
        "drip/accounts/sessions.py",
        'UserSession.token_hash == bindparam("token_hash")',
    ): "SQL lookup by the SHA-256 of a 256-bit random session token (bound when the statement"
    " runs: find_session passes sha256_hex(token)): as for API keys",
    (
        "drip/engagement/webhooks.py",
        "WebhookEvent.body_sha256 == digest",
    ): "SQL lookup of a delivery's body hash for de-duplication: not a secret",
}


def names_in(node: ast.AST) -> list[str]:
    """The identifiers an operand is made of (x, obj.attr, f(...))."""
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.append(child.id)
        elif isinstance(child, ast.Attribute):
            found.append(child.attr)
    return found


def secret_comparisons(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(isinstance(o, ast.Constant) for o in operands):
            continue  # `scheme == "bearer"`, `token is None`-style checks are not secret
        if any(SECRET_NAME.search(name) for o in operands for name in names_in(o)):
            found.append(ast.get_source_segment(source, node))
    return found


def test_no_secret_is_compared_with_eq_in_app():
    found = {
        (path.relative_to(APP).as_posix(), segment)
        for path in sorted(APP.rglob("*.py"))
        for segment in secret_comparisons(path.read_text())
    }
    offenders = sorted(f"{file}: {segment}" for file, segment in found - set(ALLOWED))
    assert offenders == [], "compare secrets with hmac.compare_digest: " + "; ".join(offenders)
    # The exceptions still exist as written (a stale entry would hide nothing, but mislead).
    assert set(ALLOWED) <= found


def test_the_check_finds_a_plain_comparison():
    bad = "def check(given, expected_signature):\n    return given == expected_signature\n"
    assert secret_comparisons(bad) == ["given == expected_signature"]
    assert secret_comparisons("ok = scheme.lower() == 'bearer'\n") == []
    assert secret_comparisons("ok = hmac.compare_digest(token, secret)\n") == []
