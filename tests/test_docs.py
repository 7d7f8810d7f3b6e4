"""The documentation as a whole: links that resolve, a short README, no measurement logs."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
MAX_README_LINES = 300

FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation dropped,
    spaces turned into hyphens (inline code and link markup count as their text)."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page; repeated headings get -1, -2, ..."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    """The targets of the page's links and images that point into the repository."""
    # Code spans may run over a line break, never over a paragraph's end.
    prose = "\n".join(prose_lines(page.read_text(encoding="utf-8")))
    paragraphs = [INLINE_CODE.sub("", p) for p in re.split(r"\n\s*\n", prose)]
    return [t for p in paragraphs for t in LINK.findall(p) if not EXTERNAL.match(t)]


def broken_links(page: Path, root: Path = REPO) -> list[str]:
    """The relative links of ``page`` that do not resolve: a missing file, a path outside
    ``root``, or an ``#anchor`` that no heading of the Markdown page it names gives."""
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page.resolve()
        if not path.is_relative_to(root.resolve()) or not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {path.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_anchor(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## Its `first` part?\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md#its-first-part) [here](#page) [web](https://example.org/x.md)\n"
        "[gone](missing.md) ![picture](../nowhere.png) [bad anchor](other.md#second-part)\n"
        "`[in code](missing-too.md)` and `over a\nline [break](missing-four.md)`\n\n"
        "```\n[in a block](missing-three.md)\n```\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "missing.md: no such file",
        "../nowhere.png: no such file",
        "other.md#second-part: no heading with the anchor #second-part in other.md",
    ]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("`mlp-weights run`", "mlp-weights-run"),
        ("Which release moved it?", "which-release-moved-it"),
        ("verdict.json", "verdictjson"),
        ("1. A pinned pass", "1-a-pinned-pass"),
        ("Locally: `.ci/run`", "locally-cirun"),
    ],
)
def test_anchors_follow_githubs_slug_rules(heading, slug):
    assert github_slug(heading) == slug


def test_readme_is_a_doorway_of_at_most_300_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES


def test_the_readme_links_every_docs_page():
    linked = {Path(t.partition("#")[0]).name for t in relative_links(README)}
    assert {p.name for p in PAGES[1:]} <= linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_page_holds_a_measurement_log(page):
    text = page.read_text(encoding="utf-8").lower()
    assert "load average" not in text
    # Benchmarks are scripts in benchmarks/, not a command of the tool.
    assert "mlp-weights bench" not in text
