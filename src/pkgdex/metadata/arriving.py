"""A project document's releases checked while its body arrives, so that a miss has little
left to check once the last byte is in.

A real pypi.org sends a 500-release document (700 KiB, or its gzip) over many round trips.
Each chunk, as the upstream's transfer receives it, is searched for the releases it completes,
and those are decoded and checked by ``exact`` in one batch. What is left at the end is the
last batch and the document around the releases, decoded with ``{}`` in their place.

Finding the releases in bytes not yet parsed is a guess, and every guess is checked:
- a batch is cut after a release's ``}]`` that a ``,"`` follows. A quote after a comma cannot
  be inside a JSON string, and an exact file entry holds no list, so the cut is where the
  release ends; if it is not, the batch is not a complete JSON object and fails to decode;
- the releases start at the first ``,"releases":{`` and end at the last ``]},"urls":``
  received after the last batch. It is looked for from the end: the releases are followed
  only by the latest release's files and the vulnerabilities, while a search from the front
  read all 700 KiB of a body that came at once (0.4 ms). The last batch then decodes as one
  object, so the end found can only be the one that closes the releases (one further on,
  inside the vulnerabilities, leaves text after that object, and the batch fails to decode);
  the document's own decode then shows ``{}`` in their place; a body that names
  ``"releases"`` anywhere else (a second key of that name, or one inside ``info``) is left to
  the whole decode.
Any failed guess only means the body is decoded whole (``exact.read``), as without this.
"""

from __future__ import annotations

from pkgdex.metadata.exact import RELEASES, Releases

_KEY = b',"releases":{'
_CUT = b'}],"'  # a release's last file, its list, and the next version's opening quote
_END = b']},"urls":'  # the last release's list, the releases, and the key after them
_NAMED = b'"releases"'


class Arriving:
    """Fed the body's chunks in order (``feed``, from the transfer's thread); ``finish``
    then gives what ``exact.read`` needs, or None to decode the body whole."""

    def __init__(self, *, ordered: bool = False) -> None:
        # ``ordered``: the releases' sort keys are made as they arrive (``Releases.keys``).
        self.releases = Releases(keys={} if ordered else None)
        self._pending = bytearray()  # received and not yet checked
        self._offset = 0  # where ``_pending`` starts in the body
        self._searched = 0  # ``_pending`` holds no key, cut or end before this
        self._start = -1  # where the releases' "{" is in the body, once found
        self._end = -1  # where the releases end in the body, once all are checked
        self._failed = False

    def feed(self, chunk: bytes) -> None:
        """Check the releases that ``chunk`` completes. Never raises: a failure only means
        the body is decoded whole at the end."""
        if self._failed or self._end >= 0:
            return
        self._pending += chunk
        try:
            self._advance()
        except Exception:  # a batch that does not decode, or anything unforeseen
            self._failed = True

    def _advance(self) -> None:
        pending = self._pending
        if self._start < 0:
            found = pending.find(_KEY, self._searched)
            if found < 0:
                self._searched = max(len(pending) - len(_KEY) + 1, 0)  # a key cut in two
                return
            self._start = self._offset + found + len(_KEY) - 1
            self._drop(found + len(_KEY) - 1)  # from the releases' "{"
        last = pending.rfind(_END, max(self._searched, 1))  # the last release's "]"
        if last >= 0:
            self._check(last + 1)  # up to the releases' "}"
            self._end = self._offset + last + 2
            self._pending = bytearray()
            return
        cut = pending.rfind(_CUT, max(self._searched, 1))
        if cut < 0:
            self._searched = max(len(pending) - len(_END) + 1, 0)
            return
        self._check(cut + 2)  # up to the "," after the release's "]"
        self._drop(cut + 2)  # from that ",", which opens the next batch

    def _drop(self, count: int) -> None:
        del self._pending[:count]  # cheap at a bytearray's front
        self._offset += count
        self._searched = 0

    def _check(self, close: int) -> None:
        """Decode the releases in ``_pending`` up to ``close`` as one object, in place: its
        first byte (the releases' "{" or the "," before the batch) is made "{" and the byte
        at ``close`` "}". Copying each batch out and wrapping it made four copies of a
        700 KiB body."""
        pending = self._pending
        pending[0], pending[close] = 0x7B, 0x7D  # "{", "}"
        with memoryview(pending) as whole, whole[: close + 1] as members:
            batch = RELEASES.decode(members)
        if not self.releases.files.keys().isdisjoint(batch):
            raise ValueError("a version given twice: left to the whole decode")
        if not self.releases.add(batch):
            raise ValueError("a release that is not exact")

    def finish(self, body: bytes) -> tuple[bytes, Releases, int, int] | None:
        """(the body with ``{}`` for its releases, the checked releases, where their bytes
        start and end in ``body``), or None when the body must be decoded whole."""
        start, end = self._start, self._end
        if self._failed or end < 0:
            return None
        key = start - len(_KEY) + 1
        if body.find(_NAMED, 0, key) >= 0 or body.find(_NAMED, end) >= 0:
            return None
        return body[:start] + b"{}" + body[end:], self.releases, start, end
