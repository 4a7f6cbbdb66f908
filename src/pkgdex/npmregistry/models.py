"""Tables of the npmregistry domain."""

from __future__ import annotations
