"""User text in elements that render markdown, shown exactly as it was typed.

``st.markdown``, ``st.caption``, ``st.success``, ``st.error``, ``st.toast``,
headers and progress texts all read their text as markdown: a segment name
like ``![x](https://attacker.example/p.png)`` would load an image from the
attacker's host in every viewer's browser, and ``[text](url)`` would make a
link. Every piece of user text (segment names, descriptions, notes, run and
model names, emails, anything an error message echoes back) goes through
``plain`` before it is put in such an element.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and then reads as
# itself: links, images, emphasis, code, HTML, LaTeX ($) and Streamlit's :directives: are all
# broken up.
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")
# Streamlit turns bare URLs into links after the markdown is parsed, escapes or not: an invisible
# word joiner (U+2060) after the scheme or "www" keeps an attacker's address from becoming one.
_BARE_URL = re.compile(r"(?i)\b(https?|ftp|www)(?=:|\.)")


def plain(text: object) -> str:
    """``text`` escaped so that markdown shows it literally, on one line, without links."""
    text = _BARE_URL.sub("\\1\u2060", _LINE_BREAKS.sub(" ", str(text)))
    return _PUNCTUATION.sub(r"\\\1", text)
