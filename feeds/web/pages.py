"""The readers' endpoint's HTML: small localised pages with one inline style (hashed in the CSP)."""

from __future__ import annotations

import base64
import hashlib
import html

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
    "input,button{font:inherit;padding:.4rem}.hp{position:absolute;left:-9999px}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{_STYLE_HASH}'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def page(lang: str, title: str, body: str) -> str:
    """A whole page (valid HTML5) around body."""
    return (
        f'<!doctype html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>\n"
    )


def para(text: str) -> str:
    """One escaped paragraph."""
    return f"<p>{html.escape(text)}</p>"


def signup_form(action: str, t: dict[str, str], note: str = "") -> str:
    """The sign-up form (the same fields as the site's templates/signup.html)."""
    return (
        (para(note) if note else "")
        + f'<form method="post" action="{html.escape(action, quote=True)}">'
        f'<p><label>{html.escape(t["email"])} <input type="email" name="email" required'
        ' autocomplete="email"></label></p>'
        f'<p><label>{html.escape(t["name_optional"])} <input type="text" name="name"'
        ' autocomplete="name"></label></p>'
        f'<p class="hp" aria-hidden="true"><label>{html.escape(t["leave_empty"])}'
        ' <input type="text" name="website" tabindex="-1" autocomplete="off"></label></p>'
        f'<p><button type="submit">{html.escape(t["subscribe"])}</button></p></form>'
    )


def button_form(action: str, label: str, hidden: tuple[str, str] | None = None) -> str:
    """A form that is one button (confirm, unsubscribe)."""
    field = ""
    if hidden:
        name, value = (html.escape(v, quote=True) for v in hidden)
        field = f'<input type="hidden" name="{name}" value="{value}">'
    return (
        f'<form method="post" action="{html.escape(action, quote=True)}">{field}'
        f'<p><button type="submit">{html.escape(label)}</button></p></form>'
    )
