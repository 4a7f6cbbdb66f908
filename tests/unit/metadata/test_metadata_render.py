"""A rendered answer's gzip: made once, by one of the requests that could have used it."""

from __future__ import annotations

import gzip

import pytest

from pkgdex.metadata import render
from pkgdex.metadata.render import Rendered, make_etag

BODY = b'{"info": {}}' * 200


def rendered() -> Rendered:
    return Rendered(BODY, make_etag(BODY), 7)


def test_one_caller_claims_the_gzip_until_it_is_made() -> None:
    answer = rendered()
    assert answer.claim_gzip()
    assert not answer.claim_gzip()  # another request of the burst: answered plain, no work
    assert gzip.decompress(answer.gzipped()) == BODY
    assert answer.has_gzip and not answer.claim_gzip()


def test_a_claim_whose_work_never_ran_lapses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "GZIP_CLAIM_SECONDS", 0.0)
    answer = rendered()
    assert answer.claim_gzip()
    assert answer.claim_gzip()  # the first claimant's work never ran: claimed again


def test_the_gzip_etag_is_its_own() -> None:
    answer = rendered()
    assert answer.gzip_etag != answer.etag and answer.gzip_etag.endswith('-gz"')
