"""A Django admin change form as a browser would send it back: every field of the page's form with its current
value (inputs, checked boxes and radios, selected options, text areas, the inlines' management forms), so a test
changes only what a person would change and posts the rest as it stands."""

from html.parser import HTMLParser


class _Form(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside or "disabled" in a:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select is not None and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def change_form(html: str, form_id: str) -> dict[str, list[str]]:
    """The fields of the form `form_id` on an admin page, name → values (several for a multiple select)."""
    parser = _Form(form_id)
    parser.feed(html)
    out: dict[str, list[str]] = {}
    for name, value in parser.fields:
        out.setdefault(name, []).append(value)
    return out


def resubmit(client, url: str, form_id: str, **changes: str | bool) -> object:
    """GET the change page, change the named fields (True/False ticks or clears a box), POST it back."""
    data = change_form(client.get(url).content.decode(), form_id)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = ["on" if value is True else value]
    data["_save"] = ["Save"]
    return client.post(url, data)
