"""Tables of the index domain."""

from __future__ import annotations
