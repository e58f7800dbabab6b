"""Descriptions in a safe subset of Markdown, rendered on the server.

Job and company descriptions are stored as their authors wrote them. `render` turns one
into the HTML every reader shows (the API's `description_html`, the web app, the feed,
the JSON-LD) and into plain text (what search indexes, and what a text-only reader gets):

- markdown-it-py parses CommonMark with raw HTML off (any tag is shown as the text it
  is) and images off (`![x](url)` stays a link: nothing is loaded from elsewhere); its
  link check already drops `javascript:`, `vbscript:`, `file:` and `data:` targets;
- nh3 (the Rust sanitiser ammonia) then keeps only the tags below, only `href` (http,
  https and mailto) and a list's `start`, and gives every link
  `rel="nofollow ugc noopener"`. Either library alone would be enough for the parts it
  covers; together a mistake in one is not a hole.

Rendering is CPU work that grows with the text (a few milliseconds for a long job ad,
a quarter of a second for the most hostile 20 000 characters), so the services run it in
a worker thread when a description is written, and store the result.
"""

import hashlib
from dataclasses import dataclass

import anyio
import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {"p", "br", "hr", "em", "strong", "a", "ul", "ol", "li", "blockquote", "code", "pre"}
    | {f"h{level}" for level in range(1, 7)}
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

_PARSER = MarkdownIt("commonmark", {"html": False}).disable("image")

# Blocks after which plain text starts a new line.
_BLOCK_ENDS = frozenset(
    {"paragraph_close", "heading_close", "list_item_close", "blockquote_close", "hr"}
)


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    text: str


def render(source: str) -> Rendered:
    """`source` as sanitised HTML and as plain text (no markup, link targets left out)."""
    tokens = _PARSER.parse(source)
    html = nh3.clean(
        _PARSER.renderer.render(tokens, _PARSER.options, {}),
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return Rendered(html=html, text=_plain(tokens))


def render_html(source: str) -> str:
    return render(source).html


def digest(source: str) -> bytes:
    """What a rendering is stored with (`rendered_from`): the SHA-256 of the text it was
    made from, as PostgreSQL's `sha256(convert_to(description, 'UTF8'))` computes it, so
    that the database can tell a rendering that no longer matches its description."""
    return hashlib.sha256(source.encode("utf-8")).digest()


def _plain(tokens: list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline":
            parts.extend(_inline_text(token.children or []))
        elif token.type in {"code_block", "fence"}:
            parts.append(token.content)
        elif token.type == "list_item_open":
            parts.append("- ")
        if token.type in _BLOCK_ENDS:
            parts.append("\n")
    lines = (line.strip() for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)


def _inline_text(children: list[Token]) -> list[str]:
    parts: list[str] = []
    for child in children:
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
    return parts


async def render_off_loop(source: str) -> Rendered:
    """`render` in a worker thread: the event loop serves others meanwhile."""
    return await anyio.to_thread.run_sync(render, source)
