"""Every relative link in README.md and the Markdown documentation (docs/, spec/, the clients' READMEs) points
to a file that exists, and every `#anchor` into a Markdown page to one of its headings.

An anchor must be the heading's slug both as GitHub makes it and as Python-Markdown's `toc` extension (what
mkdocs uses) makes it, so the same links work on GitHub and on a documentation site built from docs/.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)


def _pages() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "spec").rglob("*.md")),
        *sorted(ROOT.glob("clients/*/README.md")),
    ]


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links (lines kept)."""

    def blank(match: re.Match[str]) -> str:
        return "\n" * match.group(0).count("\n")

    return _CODE_SPAN.sub(blank, _FENCE.sub(blank, text))


def _plain(heading: str) -> str:
    """A heading's text as rendered: links reduced to their text, code spans to their content, no emphasis."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    return text.replace("`", "").replace("*", "")


def github_slug(heading: str) -> str:
    """GitHub's anchor: lowercase, punctuation dropped (not `-` and `_`), each space a `-`."""
    return re.sub(r"[^\w\- ]", "", _plain(heading).strip().lower()).replace(" ", "-")


def markdown_slug(heading: str) -> str:
    """Python-Markdown's `toc` slugify (mkdocs' default): ASCII only, runs of spaces and `-` as one `-`."""
    text = unicodedata.normalize("NFKD", _plain(heading)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _with_duplicates(slugs: list[str]) -> set[str]:
    """Both generators number repeated headings `slug-1`, `slug-2`, ..."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for slug in slugs:
        count = seen.get(slug, 0)
        out.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return out


@cache
def anchors(page: Path) -> frozenset[str]:
    """The anchors that both GitHub and mkdocs give the headings of `page`."""
    headings = [match.group(2) for match in _HEADING.finditer(_FENCE.sub("", page.read_text()))]
    github = _with_duplicates([github_slug(heading) for heading in headings])
    markdown = _with_duplicates([markdown_slug(heading) for heading in headings])
    return frozenset(github & markdown)


def _broken_links(page: Path) -> list[str]:
    problems: list[str] = []
    text = _prose(page.read_text())
    for match in _LINK.finditer(text):
        target = match.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        line = text.count("\n", 0, match.start()) + 1
        where = f"{page.relative_to(ROOT)}:{line}: {target}"
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{where}: points outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{where}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: no heading with this anchor on GitHub and in mkdocs")
    return problems


@pytest.mark.parametrize("page", _pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert _broken_links(page) == []


def test_the_checker_finds_broken_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: a missing file, a missing anchor, and links in code are not links."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# A `code` title, with punctuation!\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#a-code-title-with-punctuation) [ok](other.md#twice-1) [ok](#here)\n"
        "[gone](missing.md) [no anchor](other.md#nope) `[code](missing.md)` [web](https://example.com/x)\n"
        "```\n[fenced](missing.md)\n```\n## Here\n[up](../../outside.md)\n"
    )
    assert _broken_links(page) == [
        "page.md:2: missing.md: no such file",
        "page.md:2: other.md#nope: no heading with this anchor on GitHub and in mkdocs",
        "page.md:7: ../../outside.md: points outside the repository",
    ]


def test_slugs_agree_with_github_and_mkdocs() -> None:
    assert github_slug("Deploying behind nginx or Caddy with TLS") == "deploying-behind-nginx-or-caddy-with-tls"
    assert markdown_slug("Deploying behind nginx or Caddy with TLS") == "deploying-behind-nginx-or-caddy-with-tls"
    # They differ on runs of spaces and dashes: the checker accepts only anchors both generators make.
    assert github_slug("a -- b") == "a----b"
    assert markdown_slug("a -- b") == "a-b"
