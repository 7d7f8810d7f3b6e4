"""The releases of a library on the package index, and which of them install here.

Reads the index's JSON simple API (PEP 691): one request per library,
listing every file of every release. A release is a candidate when it is
not yanked and has a wheel whose tags this Python accepts and whose
``Requires-Python`` it satisfies; every other release in the range is
reported with the reason it cannot be tried.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import sysconfig
import urllib.error
import urllib.request
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from mlp_weights.core.errors import MLPWeightsError, UsageError

#: Where releases are listed and installed from unless told otherwise.
DEFAULT_INDEX_URL = "https://pypi.org/simple"
#: Environment variable naming another index (a mirror, a local one).
INDEX_URL_ENV = "MLP_WEIGHTS_INDEX_URL"
#: Seconds to wait for the index before saying it cannot be reached.
INDEX_TIMEOUT = 5.0
#: PEP 691's JSON flavour of the simple API.
JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"


class IndexUnreachableError(MLPWeightsError):
    """The package index did not answer (network, proxy, wrong address)."""


def resolve_index_url(index_url: str | None = None) -> str:
    """``index_url``, else ``$MLP_WEIGHTS_INDEX_URL``, else PyPI; without a trailing slash."""
    url = index_url or os.environ.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"index URL {url!r} is not an http(s) address")
    return url.rstrip("/")


@dataclass
class Release:
    """One version of a library as the index lists it.

    Parameters
    ----------
    version : packaging.version.Version
    installable : bool
        True when some wheel of it installs on this Python.
    reason : str
        Why it does not install here (empty when it does).
    """

    version: Version
    installable: bool = False
    reason: str = ""

    def __str__(self) -> str:
        return str(self.version)


def fetch_project(library: str, index_url: str, timeout: float = INDEX_TIMEOUT) -> dict:
    """The index's PEP 691 JSON page of ``library``.

    Raises
    ------
    IndexUnreachableError
        When the index does not answer within ``timeout`` seconds or answers
        with something other than the JSON page.
    """
    url = f"{index_url}/{canonicalize_name(library)}/"
    request = urllib.request.Request(url, headers={"Accept": JSON_CONTENT_TYPE})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content_type = response.headers.get("Content-Type", "")
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise IndexUnreachableError(
            f"package index {index_url} answered HTTP {exc.code} for {library}"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise IndexUnreachableError(
            f"package index {index_url} cannot be reached ({reason}); check the network "
            f"or point --index-url (or ${INDEX_URL_ENV}) at a reachable index"
        ) from None
    if JSON_CONTENT_TYPE not in content_type:
        raise IndexUnreachableError(
            f"package index {index_url} does not offer the JSON simple API (PEP 691) "
            f"for {library} (Content-Type {content_type or 'missing'})"
        )
    try:
        return json.loads(body)
    except ValueError as exc:
        raise IndexUnreachableError(
            f"package index {index_url} sent unreadable JSON for {library} ({exc})"
        ) from None


def python_version_text() -> str:
    return ".".join(str(n) for n in sys.version_info[:3])


def _requires_python_ok(spec: str | None, python: Version) -> bool:
    if not spec:
        return True
    try:
        return python in SpecifierSet(spec)
    except InvalidSpecifier:
        return True


def releases_from_page(
    page: dict, tags: set[Tag] | None = None, python: Version | None = None
) -> list[Release]:
    """Every release on a project page, oldest first, with whether it installs here.

    Parameters
    ----------
    page : dict
        A PEP 691 project page (``files``; ``versions`` is used when present).
    tags : set of packaging.tags.Tag, optional
        Wheel tags this Python accepts (default: :func:`packaging.tags.sys_tags`).
    python : Version, optional
        This Python's version, for ``requires-python`` (default: the running one).
    """
    tags = set(sys_tags()) if tags is None else tags
    python = Version(python_version_text()) if python is None else python
    wheels: dict[Version, list[tuple[dict, frozenset]]] = {}
    for text in page.get("versions", []):
        with contextlib.suppress(InvalidVersion):
            wheels.setdefault(Version(text), [])
    for info in page.get("files", []):
        filename = info.get("filename", "")
        try:
            if filename.endswith(".whl"):
                _, version, _, file_tags = parse_wheel_filename(filename)
                wheels.setdefault(version, []).append((info, file_tags))
            else:
                wheels.setdefault(parse_sdist_filename(filename)[1], [])
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
    here = f"Python {python} on {sysconfig.get_platform()}"
    return [_release(v, wheels[v], tags, python, here) for v in sorted(wheels)]


def _release(version: Version, wheels: list, tags: set[Tag], python: Version, here: str):
    """A release from its wheels (``(file info, tags)`` pairs): installable, or why not."""
    live = [info for info, file_tags in wheels if not info.get("yanked")]
    fitting = [info for info, file_tags in wheels if not info.get("yanked") and file_tags & tags]
    if any(_requires_python_ok(info.get("requires-python"), python) for info in fitting):
        return Release(version, installable=True)
    if not wheels:
        return Release(version, reason="no wheels (source only)")
    if not live:
        return Release(version, reason="yanked")
    if fitting:
        spec = fitting[0].get("requires-python")
        return Release(version, reason=f"requires Python {spec}, this is {python}")
    return Release(version, reason=f"no wheel for {here}")


def list_releases(library: str, index_url: str, timeout: float = INDEX_TIMEOUT) -> list[Release]:
    """Every release of ``library`` on the index, oldest first; see :func:`releases_from_page`."""
    return releases_from_page(fetch_project(library, index_url, timeout))


def find_release(releases: list[Release], text: str, library: str) -> Release:
    """The release named ``text`` (any spelling of the same version), else a UsageError."""
    try:
        wanted = Version(text)
    except InvalidVersion:
        raise UsageError(f"{text!r} is not a version number") from None
    for release in releases:
        if release.version == wanted:
            return release
    series = f"{wanted.major}.{wanted.minor}"
    near = [str(r.version) for r in releases if f"{r.version.major}.{r.version.minor}" == series]
    hint = f"; releases of {series}: {', '.join(near)}" if near else ""
    raise UsageError(f"{library} {text} is not on the package index{hint}")


def releases_between(
    releases: list[Release], first: Version, last: Version, pre: bool = False
) -> list[Release]:
    """Releases from ``first`` to ``last`` (either order), both included, oldest first.

    Pre-releases and development releases are left out unless ``pre`` (the
    ends themselves always count).
    """
    low, high = sorted((first, last))
    chosen = []
    for release in releases:
        version = release.version
        if not low <= version <= high:
            continue
        if version.is_prerelease and not pre and version not in (low, high):
            continue
        chosen.append(release)
    return chosen


def newest_installable(releases: list[Release], pre: bool = False) -> Release | None:
    """The newest release that installs here (final releases only unless ``pre``)."""
    for release in reversed(releases):
        if release.installable and (pre or not release.version.is_prerelease):
            return release
    return None
