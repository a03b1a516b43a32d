"""Every string of the pages has its Chinese translation; both languages render."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fangkong.web.i18n import CODE_MESSAGES, TEMPLATE_DIR, po_path, render, translations


def _template_messages() -> set[str]:
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    found = extract_from_dir(
        str(TEMPLATE_DIR),
        method_map=[("**.html", "jinja2.ext:babel_extract")],
        options_map={"**.html": options},
    )
    return {str(msg) for _, _, msg, _, _ in found} | set(CODE_MESSAGES)


def test_every_template_string_is_translated_to_chinese() -> None:
    with po_path("zh").open("rb") as handle:
        catalog = read_po(handle)
    translated = {str(m.id) for m in catalog if m.id and m.string}
    messages = _template_messages()
    assert len(messages) > 30
    assert sorted(messages - translated) == []
    assert sorted(translated - messages) == []  # no stale entries either


def test_languages_differ() -> None:
    assert translations("zh").gettext("Log in") == "登录"
    assert translations("en").gettext("Log in") == "Log in"
    context = {
        "request_path": "/login",
        "actor": None,
        "csrf": None,
        "message": None,
        "next_path": "/",
        "username": "",
        "login_csrf": "t",
    }
    zh, en = render("zh", "login.html", **context), render("en", "login.html", **context)
    assert "用户名" in zh
    assert "Username" not in zh
    assert "Username" in en
    assert "用户名" not in en
