"""Text people typed (display names) shown exactly as typed wherever Streamlit renders Markdown.

Titles, ``st.markdown``/``st.write`` and many labels render Markdown plus Streamlit's extensions:
a display name ``[x](http://…)``, ``![i](http://…)``, ``:red[…]``, ``:material/…:`` or ``$…$`` would
become a link, an image, colour, an icon or a formula. `plain` backslash-escapes Markdown's
punctuation and breaks what is recognised after escapes are resolved (GFM autolinks ``http:``,
``www.`` and ``name@host``; ``:directives:``) with an invisible word joiner.
"""

from __future__ import annotations

import re

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&=\"'^])")
_AUTOLINK_WWW = re.compile(r"(?i)(www)(?=\\\.)")
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """``text`` on one line, safe to put inside Markdown: it renders as exactly these characters."""
    s = _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))
    s = _AUTOLINK_WWW.sub(r"\1" + WORD_JOINER, s)
    return s.replace(":", ":" + WORD_JOINER).replace("@", "@" + WORD_JOINER)
