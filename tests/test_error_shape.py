"""The one error envelope of pkgdex's native APIs, pinned for every error path."""

from __future__ import annotations

from pkgdex.errors import error_body


def test_error_body_is_the_envelope() -> None:
    assert error_body("not_found", "no such package", "abc") == {
        "error": {"code": "not_found", "message": "no such package", "requestId": "abc"}
    }
