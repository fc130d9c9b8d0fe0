"""A select whose long, fixed list of options is rendered once per process.

The settings form's time zone select offers some 600 zones: WTForms renders each option
through html_params and Markup.format on every view, about half the campaign page's CPU
(issue 21). The options never change, so their HTML is kept and only the selected one is
rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from wtforms.widgets import Select, html_params


@dataclass(frozen=True)
class _Options:
    choices: list  # the field's choices list, the very object they were rendered from
    normalized: list  # its Choices, unselected
    html: list[str]  # each option's HTML, unselected
    where: dict[str, list[int]]  # value -> the options with it


class FixedOptionsSelect(Select):
    """Select for a single-valued field with str values whose choices list is built once and
    reused (the same list object on every form); any other field renders as Select does."""

    def __init__(self):
        super().__init__(multiple=False)
        self._options: _Options | None = None

    def __call__(self, field, **kwargs):
        options = self._options
        if options is None or options.choices is not field.choices:
            options = self._render_options(field)
            if options is None:
                return super().__call__(field, **kwargs)
            self._options = options
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        html = [f"<select {html_params(name=field.name, **kwargs)}>", *options.html, "</select>"]
        data = field.data
        render = type(self)._dispatch_render_option()
        for index in options.where.get(data, ()) if isinstance(data, str) else ():
            html[index + 1] = render(options.normalized[index]._replace(selected=True))
        return Markup("".join(html))

    def _render_options(self, field) -> _Options | None:
        choices = field.choices
        if not isinstance(choices, list) or field.coerce is not str or field.has_groups():
            return None
        normalized = [c._replace(selected=False) for c in field._iter_choices_normalized()]
        if not all(isinstance(c.value, str) for c in normalized):
            return None
        render = type(self)._dispatch_render_option()
        where: dict[str, list[int]] = {}
        for index, choice in enumerate(normalized):
            where.setdefault(choice.value, []).append(index)
        return _Options(choices, normalized, [str(render(c)) for c in normalized], where)
