"""Student HTML made safe to show an instructor or a student: no scripts, no event handlers, no
styles, links and images only to ordinary places. Pure functions (bleach).

The graded notebook is what the formgrader renders (to the instructor, logged in) and what the
feedback is made from, so the autograde step cleans it once (`SanitizeStudentHtml` in
coursetools/preprocessors/sanitizestudenthtml.py): every output's HTML, Markdown and SVG, and
every markdown cell the student wrote (answers and extra cells; the release's own read-only cells
are the course's). The HTML exporters also run with `sanitize_html` (nbgrader_config.py) as a
second line.
"""

import re

import bleach

TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "s", "samp",
        "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "u", "ul", "var"}
ATTRIBUTES = {"*": ["class", "title"], "a": ["href"], "img": ["src", "alt", "width", "height"],
              "td": ["colspan", "rowspan", "align"], "th": ["colspan", "rowspan", "align"]}
PROTOCOLS = {"http", "https", "mailto", "data", "attachment"}
_DROPPED_BLOCKS = re.compile(r"<(script|style|iframe|object|embed|template)\b.*?(</\1\s*>|$)", re.I | re.S)


def clean(html: str) -> str:
    """`html` without scripts, styles, frames, event handlers or `javascript:` links; other markup
    outside the allow-list is removed, its text kept."""
    html = _DROPPED_BLOCKS.sub("", html)
    return bleach.clean(html, tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=True,
                        strip_comments=True)


def _text(value):
    return "".join(value) if isinstance(value, list) else value


def clean_output(output: dict) -> bool:
    """Clean one output in place (its HTML, Markdown and SVG; JavaScript dropped); True when changed."""
    data = output.get("data")
    if not isinstance(data, dict):
        return False
    changed = False
    for mime in list(data):
        if mime in ("application/javascript", "text/javascript") or "javascript" in mime or mime.endswith("+json") \
                and "widget" in mime:
            del data[mime]
            changed = True
        elif mime in ("text/html", "text/markdown", "image/svg+xml") and isinstance(data[mime], (str, list)):
            text = _text(data[mime])
            cleaned = clean(text)
            if cleaned != text:
                data[mime] = cleaned
                changed = True
    if not data:
        data["text/plain"] = "[output removed: it held only script]"
    return changed


def clean_markdown(source: str) -> str:
    """A markdown cell's text with its HTML cleaned; unchanged when it holds no markup at all."""
    return clean(source) if "<" in source else source
