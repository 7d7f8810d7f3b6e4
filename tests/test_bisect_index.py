"""Releases on the package index, which install here, and an index that does not answer."""

from __future__ import annotations

import time

import pytest
from packaging.tags import Tag
from packaging.version import Version

from bisect_fakes import (
    MATPLOTLIB_VERSIONS,
    closed_port,
    project_page,
    sdist_file,
    serve_index,
    silent_server,
    wheel_file,
)
from mlp_weights.bisect.index import (
    IndexUnreachableError,
    find_release,
    list_releases,
    releases_between,
    releases_from_page,
    resolve_index_url,
)
from mlp_weights.core.errors import UsageError

TAGS = {Tag("cp311", "cp311", "manylinux_2_17_x86_64"), Tag("py3", "none", "any")}
PYTHON = Version("3.11.7")


def by_version(releases):
    """``version text -> why it does not install here``."""
    return {str(version): why for version, why in releases.items()}


def test_installable_releases_and_the_reasons_of_the_others():
    page = project_page(
        "matplotlib",
        ["3.6.0", "3.7.0", "3.7.1", "3.7.2", "3.7.3", "3.7.4", "3.7.5"],
        **{
            "3.6.0": [wheel_file("matplotlib", "3.6.0", "cp39-cp39-manylinux_2_17_x86_64")],
            "3.7.1": [sdist_file("matplotlib", "3.7.1")],
            "3.7.2": [wheel_file("matplotlib", "3.7.2", yanked="broken")],
            "3.7.3": [wheel_file("matplotlib", "3.7.3", **{"requires-python": ">=3.12"})],
            "3.7.4": [wheel_file("matplotlib", "3.7.4", "py3-none-any")],
        },
    )
    releases = by_version(releases_from_page(page, TAGS, PYTHON))
    assert list(releases) == ["3.6.0", "3.7.0", "3.7.1", "3.7.2", "3.7.3", "3.7.4", "3.7.5"]
    assert [v for v, why in releases.items() if not why] == ["3.7.0", "3.7.4", "3.7.5"]
    assert "no wheel for Python 3.11.7" in releases["3.6.0"]
    assert releases["3.7.1"] == "no wheels (source only)"
    assert releases["3.7.2"] == "yanked"
    assert releases["3.7.3"] == "requires Python >=3.12, this is 3.11.7"


def test_versions_are_ordered_as_versions_not_as_text():
    releases = releases_from_page(project_page("matplotlib", MATPLOTLIB_VERSIONS), TAGS, PYTHON)
    texts = [str(version) for version in releases]
    assert texts == sorted(MATPLOTLIB_VERSIONS, key=Version)
    assert texts.index("3.9.1.post1") < texts.index("3.10.0") < texts.index("3.11.0rc1")


def test_range_holds_final_releases_unless_pre_and_works_in_either_order():
    releases = releases_from_page(project_page("matplotlib", MATPLOTLIB_VERSIONS), TAGS, PYTHON)
    finals = [str(r) for r in releases_between(releases, Version("3.11.1"), Version("3.7.1"))]
    assert finals[0] == "3.7.1" and finals[-1] == "3.11.1"
    assert "3.8.0rc1" not in finals and "3.11.0rc1" not in finals and "3.9.1.post1" in finals
    with_pre = [
        str(r) for r in releases_between(releases, Version("3.7.1"), Version("3.11.1"), True)
    ]
    assert set(with_pre) - set(finals) == {"3.8.0rc1", "3.11.0rc1"}
    named_end = [
        str(r) for r in releases_between(releases, Version("3.11.0rc1"), Version("3.10.9"))
    ]
    assert named_end == ["3.10.9", "3.11.0rc1"]


def test_a_version_not_on_the_index_is_bad_input_with_its_neighbours():
    releases = releases_from_page(project_page("matplotlib", MATPLOTLIB_VERSIONS), TAGS, PYTHON)
    assert str(find_release(releases, "3.9.1post1", "matplotlib")) == "3.9.1.post1"
    with pytest.raises(
        UsageError,
        match=r"matplotlib 3\.10\.2 is not on the package index; "
        r"releases of 3\.10: 3\.10\.0, 3\.10\.8, 3\.10\.9",
    ):
        find_release(releases, "3.10.2", "matplotlib")
    with pytest.raises(UsageError, match="not a version number"):
        find_release(releases, "latest", "matplotlib")


def test_lists_releases_from_a_json_simple_index():
    with serve_index({"matplotlib": project_page("matplotlib", MATPLOTLIB_VERSIONS)}) as url:
        releases = list_releases("matplotlib", url)
    assert [str(version) for version in releases] == sorted(MATPLOTLIB_VERSIONS, key=Version)


def test_an_index_without_the_json_api_is_named():
    pages = {"matplotlib": project_page("matplotlib", MATPLOTLIB_VERSIONS)}
    with serve_index(pages, content_type="text/html") as url:
        with pytest.raises(IndexUnreachableError, match=r"JSON simple API \(PEP 691\)"):
            list_releases("matplotlib", url)
    with serve_index({}) as url:
        with pytest.raises(IndexUnreachableError, match="HTTP 404"):
            list_releases("matplotlib", url)


@pytest.mark.parametrize("make_url", [closed_port, silent_server], ids=["refused", "silent"])
def test_an_unreachable_index_fails_within_seconds(make_url):
    timeout = 0.2
    with make_url() as url:
        start = time.perf_counter()
        with pytest.raises(IndexUnreachableError, match="cannot be reached") as info:
            list_releases("matplotlib", url, timeout=timeout)
        elapsed = time.perf_counter() - start
    assert elapsed < timeout + 2, f"took {elapsed:.1f} s"
    assert "\n" not in str(info.value) and "--index-url" in str(info.value)


def test_index_url_from_option_then_environment(monkeypatch):
    monkeypatch.delenv("MLP_WEIGHTS_INDEX_URL", raising=False)
    assert resolve_index_url() == "https://pypi.org/simple"
    monkeypatch.setenv("MLP_WEIGHTS_INDEX_URL", "http://mirror.example/simple/")
    assert resolve_index_url() == "http://mirror.example/simple"
    assert resolve_index_url("https://other.example/simple") == "https://other.example/simple"
    with pytest.raises(UsageError, match="not an http"):
        resolve_index_url("file:///opt/pypi/simple")
