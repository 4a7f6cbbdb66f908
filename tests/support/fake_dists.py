"""Real, minimal distributions built in memory, for the fake pypi.org to serve to installers.

A wheel holds one module (``<name>.py`` with ``VERSION``) and a ``.dist-info`` with
``METADATA``, ``WHEEL`` and ``RECORD``, its ``METADATA`` also served beside it (PEP 658); an
sdist holds the module, ``PKG-INFO`` and a ``pyproject.toml``. Every timestamp is fixed, so the
same release always gives the same bytes: the digests a JSON document announces stay those of
the file served next.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass

from packaging.utils import canonicalize_name

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
FIXED_MTIME = 1577836800  # 2020-01-01, the zip time as a Unix time


@dataclass(frozen=True)
class Dist:
    filename: str
    packagetype: str
    python_version: str
    content: bytes
    core_metadata: bytes | None = None  # served beside a wheel as ``<file URL>.metadata``


def file_digests(content: bytes) -> dict[str, str]:
    return {
        "blake2b_256": hashlib.blake2b(content, digest_size=32).hexdigest(),
        "md5": hashlib.md5(content, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def module_name(project: str) -> str:
    """The importable name a project's module gets: its normalised name with underscores."""
    return canonicalize_name(project).replace("-", "_")


def build_wheel(project: str, version: str, requires_python: str | None) -> Dist:
    stem = f"{module_name(project)}-{version}"
    metadata = _metadata(project, version, requires_python)
    members = {
        f"{module_name(project)}.py": _module_source(version),
        f"{stem}.dist-info/METADATA": metadata,
        f"{stem}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: pkgdex-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record_path = f"{stem}.dist-info/RECORD"
    members[record_path] = _record(members, record_path)
    return Dist(f"{stem}-py3-none-any.whl", "bdist_wheel", "py3", _zip(members), metadata)


def build_sdist(project: str, version: str, requires_python: str | None) -> Dist:
    stem = f"{module_name(project)}-{version}"
    members = {
        f"{stem}/{module_name(project)}.py": _module_source(version),
        f"{stem}/PKG-INFO": _metadata(project, version, requires_python),
        f"{stem}/pyproject.toml": (
            f'[project]\nname = "{project}"\nversion = "{version}"\n'
            '[build-system]\nrequires = ["setuptools"]\n'
            'build-backend = "setuptools.build_meta"\n'
        ).encode(),
    }
    return Dist(f"{stem}.tar.gz", "sdist", "source", _tar_gz(members))


def _module_source(version: str) -> bytes:
    return f'VERSION = "{version}"\n'.encode()


def _metadata(project: str, version: str, requires_python: str | None) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {project}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    return ("\n".join(lines) + "\n").encode()


def _record(members: dict[str, bytes], record_path: str) -> bytes:
    """PEP 376/427 RECORD: each file's urlsafe, unpadded sha256 and size; its own row blank."""
    rows = []
    for path, content in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
        rows.append(f"{path},sha256={digest.decode()},{len(content)}")
    rows.append(f"{record_path},,")
    return ("\n".join(rows) + "\n").encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in members.items():
            archive.writestr(zipfile.ZipInfo(path, FIXED_ZIP_TIME), content)
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    # gzip writes the time into its header: a fixed one keeps the bytes the same.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=FIXED_MTIME) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as archive,
    ):
        for path, content in members.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(content), FIXED_MTIME, 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
