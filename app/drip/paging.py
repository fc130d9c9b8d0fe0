"""Pages of a long list."""

from __future__ import annotations

# Past this page the offset ((page - 1) * per_page) leaves the databases' 64-bit integers:
# ?page=9223372036854775807 was an OverflowError in SQLite's driver (a 500). No list is
# anywhere near this long, so a larger page shows the same empty page as this one.
MAX_PAGE = 1_000_000_000


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows fill, `per_page` a page; an empty list is one page."""
    return max(1, -(-total // per_page))


def clamp_page(page: int | None) -> int:
    """A page number from 1 to MAX_PAGE: none or below 1 is page 1, above is MAX_PAGE."""
    return min(max(page or 1, 1), MAX_PAGE)


class PageOf:
    """What a page of results has besides its rows (a dataclass's `total`, `page`,
    `per_page`): how many pages there are."""

    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)
