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


def list_releases(
    library: str, index_url: str, timeout: float = INDEX_TIMEOUT
) -> dict[Version, str]:
    """Every release of ``library``, read from the index's PEP 691 JSON page of it.

    Oldest first, as :func:`releases_from_page` gives them.

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
    except OSError as exc:  # URLError and timeouts included
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
        page = json.loads(body)
    except ValueError as exc:
        raise IndexUnreachableError(
            f"package index {index_url} sent unreadable JSON for {library} ({exc})"
        ) from None
    return releases_from_page(page)


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
) -> dict[Version, str]:
    """Every release on a project page, oldest first: ``version -> why it does not
    install here``, empty when some wheel of it does.

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
    wheels: dict[Version, list[dict]] = {}
    for text in page.get("versions", []):
        with contextlib.suppress(InvalidVersion):
            wheels.setdefault(Version(text), [])
    for info in page.get("files", []):
        filename = info.get("filename", "")
        try:
            if filename.endswith(".whl"):
                _, version, _, file_tags = parse_wheel_filename(filename)
                wheels.setdefault(version, []).append({**info, "fits": bool(file_tags & tags)})
            else:
                wheels.setdefault(parse_sdist_filename(filename)[1], [])
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
    here = f"Python {python} on {sysconfig.get_platform()}"
    return {version: _why_not(wheels[version], python, here) for version in sorted(wheels)}


def _why_not(wheels: list[dict], python: Version, here: str) -> str:
    """Why a release with these wheels (file infos, ``fits`` added) does not install here;
    empty when it does."""
    live = [info for info in wheels if not info.get("yanked")]
    fitting = [info for info in live if info["fits"]]
    if any(_requires_python_ok(info.get("requires-python"), python) for info in fitting):
        return ""
    if not wheels:
        return "no wheels (source only)"
    if not live:
        return "yanked"
    if fitting:
        return f"requires Python {fitting[0].get('requires-python')}, this is {python}"
    return f"no wheel for {here}"


def find_release(releases: dict[Version, str], text: str, library: str) -> Version:
    """The release named ``text`` (any spelling of the same version), else a UsageError."""
    try:
        wanted = Version(text)
    except InvalidVersion:
        raise UsageError(f"{text!r} is not a version number") from None
    for version in releases:
        if version == wanted:
            return version
    series = f"{wanted.major}.{wanted.minor}"
    near = [str(v) for v in releases if f"{v.major}.{v.minor}" == series]
    hint = f"; releases of {series}: {', '.join(near)}" if near else ""
    raise UsageError(f"{library} {text} is not on the package index{hint}")


def releases_between(
    releases: dict[Version, str], first: Version, last: Version, pre: bool = False
) -> list[Version]:
    """Releases from ``first`` to ``last`` (either order), both included, oldest first.

    Pre-releases and development releases are left out unless ``pre`` (the
    ends themselves always count).
    """
    low, high = sorted((first, last))
    return [
        version
        for version in releases
        if low <= version <= high and (pre or not version.is_prerelease or version in (low, high))
    ]
