"""Tables of the downloads domain."""

from __future__ import annotations
