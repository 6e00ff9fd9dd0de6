"""mkdocs hook: the Markdown pages that live outside docs/ (README, spec/, the clients' READMEs, CHANGELOG) are
pages of the site, read in place (never copied by hand), and every relative link keeps working.

Pages link to each other by their paths in the repository, so the same links work on GitHub. On the site those
paths change (README.md becomes the home page, docs/x.md becomes x.md), so each relative link is resolved to a
repository path and then rewritten:

- to a page of the site: the page's path relative to the linking page;
- to an image outside docs/ (the benchmark chart): the image, copied into the site at its repository path;
- to any other file or directory of the repository (source, bench programs): its page on the repository host
  (`repo_url` of mkdocs.yml);
- to nothing: left as it is, so that mkdocs' strict mode reports it (as tests/test_links.py does).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]

#: Repository path -> path in the site, for the pages that are not under docs/.
PAGES = {
    "README.md": "index.md",
    "CHANGELOG.md": "changelog.md",
    "spec/protocol.md": "spec/protocol.md",
    "spec/cluster.md": "spec/cluster.md",
    "spec/conformance/scenarios.md": "spec/conformance/scenarios.md",
    "clients/js/README.md": "clients/js.md",
    "clients/go/README.md": "clients/go.md",
}
_SITE_TO_REPO = {site: repo for repo, site in PAGES.items()}
_IMAGES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")

# Fenced code blocks and code spans hold no links; they are blanked (same length) before links are searched.
_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
_LINK = re.compile(r"(!?)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _links(markdown: str) -> list[re.Match[str]]:
    """The inline links and images of `markdown` outside code, with group 2 the target."""
    prose = _CODE_SPAN.sub(_blank, _FENCE.sub(_blank, markdown))
    return list(_LINK.finditer(prose))


def repo_path(src_uri: str) -> str:
    """Where the page at `src_uri` of the site lives in the repository."""
    return _SITE_TO_REPO.get(src_uri, f"docs/{src_uri}")


def site_path(path: str) -> str | None:
    """Where the repository file `path` is in the site, or None when it is not part of the site."""
    if path in PAGES:
        return PAGES[path]
    if path.startswith("docs/"):
        return path.removeprefix("docs/")
    if path.lower().endswith(_IMAGES) and (ROOT / path).is_file():
        return path
    return None


def _resolve(page_repo_path: str, target: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(page_repo_path), target))


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    """Add the pages outside docs/ and the images they or docs/ link outside docs/."""
    for path, uri in PAGES.items():
        if (ROOT / path).is_file():
            files.append(File.generated(config, uri, abs_src_path=str(ROOT / path)))
    pages = [(repo_path(file.src_uri), Path(file.abs_src_path)) for file in files.documentation_pages()
             if file.abs_src_path]
    for page, source in pages:
        for link in _links(source.read_text(encoding="utf-8")):
            target = _resolve(page, link.group(2).partition("#")[0])
            if not target.startswith(("docs/", "../")) and target.lower().endswith(_IMAGES) \
                    and (ROOT / target).is_file() and files.get_file_from_path(target) is None:
                files.append(File.generated(config, target, abs_src_path=str(ROOT / target)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    """Rewrite the page's relative links from repository paths to site paths (see the module docstring)."""
    here = page.file.src_uri
    page_repo = repo_path(here)
    out: list[str] = []
    last = 0
    for link in _links(markdown):
        target = link.group(2)
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
            continue
        path, hash_, anchor = target.partition("#")
        resolved = _resolve(page_repo, path)
        if resolved.startswith("../") or not (ROOT / resolved).exists():
            continue  # mkdocs reports it in strict mode
        uri = site_path(resolved)
        if uri is not None:
            new = posixpath.relpath(uri, posixpath.dirname(here) or ".")
        else:
            kind = "tree" if (ROOT / resolved).is_dir() else "blob"
            new = f"{str(config.repo_url).rstrip('/')}/{kind}/main/{resolved}"
        start, end = link.span(2)
        out += [markdown[last:start], new + hash_ + anchor]
        last = end
    out.append(markdown[last:])
    return "".join(out)
