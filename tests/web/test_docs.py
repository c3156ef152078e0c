"""The API's documentation page (Swagger UI) is served from our own static files: it names
no other host, and every asset it loads is here."""

from __future__ import annotations

import re

from tests.web.conftest import Web

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|Url)\s*:\s*["']([^"']+)["']""")


def test_the_docs_page_references_no_external_host_and_its_assets_are_served(web: Web):
    client = web.client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text and "SwaggerUIBundle" in page.text
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page.text, re.I), page.text
    refs = [a or b for a, b in URL.findall(page.text)]
    assert {r.split("?")[0] for r in refs} >= {
        "/static/swagger-ui/swagger-ui-bundle.js",
        "/static/swagger-ui/swagger-ui.css",
        "/static/swagger-ui/favicon-32x32.png",
        "/api/openapi.json",
    }
    for ref in refs:
        assert ref.startswith("/"), ref
        assert client.get(ref).status_code == 200, ref
    assert '"validatorUrl": null' in page.text  # no validator badge from another host
    csp = page.headers["content-security-policy"]
    assert "http" not in csp and "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"


def test_swagger_ui_is_vendored_with_its_licence():
    from pathlib import Path

    import interfaces.web

    folder = Path(interfaces.web.__file__).parent / "static" / "swagger-ui"
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert "5.36.0" in (folder / "README.md").read_text(encoding="utf-8")
