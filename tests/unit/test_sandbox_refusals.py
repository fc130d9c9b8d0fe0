"""The sandbox provider refuses what Meta refuses before looking at a template: a media header
whose link is not https (100), an empty text parameter (131008), an overlong text (100)."""

from __future__ import annotations

import pytest

from app.whatsapp import ErrorKind, SandboxProvider, SendError

ANA = "+447700900123"


def header(kind: str, link: str) -> dict:
    return {"type": "header", "parameters": [{"type": kind, kind: {"link": link}}]}


def body(*values: str) -> dict:
    return {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}


def test_a_well_formed_template_is_accepted():
    components = [header("image", "https://cdn.example/a.png"), body("Ana", "20%")]
    result = SandboxProvider().send_template(ANA, "promo", "en_US", components=components)
    assert result.wamid.startswith("wamid.SANDBOX.")


@pytest.mark.parametrize("kind", ["image", "video", "document"])
@pytest.mark.parametrize("link", ["http://cdn.example/a.png", "cdn.example/a.png", ""])
def test_a_media_header_without_an_https_link_is_refused(kind, link):
    with pytest.raises(SendError) as refused:
        SandboxProvider().send_template(
            ANA, "promo", "en_US", components=[header(kind, link), body("Ana")]
        )
    assert (refused.value.kind, refused.value.code) == (ErrorKind.PERMANENT, "100")
    assert "https" in refused.value.reason


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_text_parameter_is_refused(value):
    provider = SandboxProvider()
    with pytest.raises(SendError) as refused:
        provider.send_template(ANA, "promo", "en_US", ["Ana", value])
    assert (refused.value.kind, refused.value.code) == (ErrorKind.PERMANENT, "131008")
    assert "empty" in refused.value.reason
    with pytest.raises(SendError):
        provider.send_template(ANA, "promo", "en_US", components=[body("Ana", value)])


def test_an_overlong_text_is_refused():
    with pytest.raises(SendError) as refused:
        SandboxProvider().send_text(ANA, "x" * 4097)
    assert refused.value.code == "100"
