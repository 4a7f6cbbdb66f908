"""Tables of the metadata domain."""

from __future__ import annotations
