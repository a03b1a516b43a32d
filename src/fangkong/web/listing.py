"""Lists on pages: paged, sortable and filterable on the server (列表：分页、排序、筛选).

A list page declares a :class:`ListSpec` (the sort keys it offers, its default order and
page size); :func:`parse` reads ``page``, ``size``, ``sort`` and ``dir`` from the query
string into a :class:`Listing`. The handler passes ``listing.bounded`` down to the
capability's query function, which sorts, slices and counts in SQL
(``fangkong.store.listing``) and answers the page's rows and the list's length; then
``listing.pager(total, shown)`` places the page. The template draws sortable headers and
the pager with the macros of ``templates/_list.html``.

A bad value (an unknown sort key, a page size outside :data:`PAGE_SIZES`, a page number
that is no number) is never a 500: the list falls back to its default for that value,
says so in Chinese and English above the table, and the page answers ``422``. Every link
the layer draws keeps the other query parameters (the page's filters), so a filter
survives sorting and paging and a sort survives paging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.datastructures import URL, QueryParams
from starlette.requests import Request

from fangkong.errors import Problem
from fangkong.store.listing import Bounded

# the sizes a list may show per page; anything else falls back to the list's default
PAGE_SIZES = (20, 50, 100, 200)
MAX_PAGE = 1_000_000  # page × size stays far inside a 32-bit offset


@dataclass(frozen=True)
class ListSpec:
    """What one list offers: its sort keys (the capability's whitelist), the default key
    and direction, the default page size and a prefix for its parameters when a page
    shows two lists (``c`` gives ``cpage``, ``csort``, ``cdir``, ``csize``)."""

    sorts: Sequence[str]
    sort: str | None = None
    descending: bool = False
    size: int = 50
    prefix: str = ""

    def param(self, name: str) -> str:
        return f"{self.prefix}{name}"


@dataclass(frozen=True)
class Pager:
    """Where one page of a list sits: rows first..last of total, links to its neighbours
    and to the other page sizes."""

    first: int
    last: int
    total: int | None  # None: not counted (the page knows only whether more follow)
    prev: str | None
    next: str | None
    sizes: tuple[tuple[int, str | None], ...] = ()  # (size, link; None: the size shown)


def _problem(code: str, zh: str, en: str) -> Problem:
    return Problem(f"list.{code}", zh, en)


@dataclass(frozen=True)
class Listing:
    """One request's reading of a list: page, size, sort, direction, and what was wrong."""

    spec: ListSpec
    url: URL
    number: int = 1
    size: int = 50
    sort: str | None = None
    descending: bool = False
    problems: tuple[Problem, ...] = field(default=())

    @property
    def bounded(self) -> Bounded:
        return Bounded(self.sort, self.descending, self.size, (self.number - 1) * self.size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def status(self) -> int:
        """422 when a value was refused (the list still shows, in its default order)."""
        return 422 if self.problems else 200

    def error(self, lang: str) -> str | None:
        return " ".join(p.text(lang) for p in self.problems) or None

    def _link(self, **params: str | int | None) -> str:
        url = self.url
        drop = [self.spec.param(k) for k, v in params.items() if v is None]
        if drop:
            url = url.remove_query_params(drop)
        keep = {self.spec.param(k): v for k, v in params.items() if v is not None}
        url = url.include_query_params(**keep)
        return f"{url.path}?{url.query}" if url.query else url.path

    def sort_link(self, key: str) -> str:
        """Sort by ``key`` (ascending; again: descending), from the first page."""
        flip = key == self.sort and not self.descending
        return self._link(sort=key, dir="desc" if flip else "asc", page=None)

    def aria(self, key: str) -> str:
        if key != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"

    def hidden(self) -> list[tuple[str, str]]:
        """The sort and size to carry in a filter form (filtering starts at page 1)."""
        asked = QueryParams(self.url.query)
        out = []
        if self.sort is not None and self.spec.param("sort") in asked:
            out += [(self.spec.param("sort"), self.sort),
                    (self.spec.param("dir"), "desc" if self.descending else "asc")]  # fmt: skip
        if self.spec.param("size") in asked:
            out.append((self.spec.param("size"), str(self.size)))
        return out

    def pager(self, total: int | None, shown: int, *, more: bool = False) -> Pager:
        """The pager of a page of ``shown`` rows out of ``total`` (None: uncounted, and
        ``more`` says whether rows follow)."""
        first = self.offset + 1 if shown else 0
        if total is not None:
            more = self.offset + shown < total
        sizes = tuple((s, None if s == self.size else self._link(size=s, page=None))
                      for s in PAGE_SIZES)  # fmt: skip
        return Pager(first, first + shown - 1 if shown else 0, total,
                     self._link(page=self.number - 1) if self.number > 1 else None,
                     self._link(page=self.number + 1) if more else None,
                     sizes)  # fmt: skip


def _number(raw: str | None, problems: list[Problem]) -> int:
    if raw is None or raw == "":
        return 1
    if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    problems.append(_problem("page_invalid", f"页码须为 1 至 {MAX_PAGE} 的整数，已显示第 1 页。",
                             f"The page must be a whole number from 1 to {MAX_PAGE}; "
                             "showing page 1."))  # fmt: skip
    return 1


def _size(raw: str | None, spec: ListSpec, problems: list[Problem]) -> int:
    if raw is None or raw == "":
        return spec.size
    if raw.isdigit() and int(raw) in PAGE_SIZES:
        return int(raw)
    zh, en = "、".join(map(str, PAGE_SIZES)), ", ".join(map(str, PAGE_SIZES))
    n = spec.size
    problems.append(_problem("size_invalid", f"每页行数须为 {zh} 之一，已按 {n} 行显示。",
                             f"Rows per page must be one of {en}; showing {n}."))  # fmt: skip
    return spec.size


def parse(request: Request, spec: ListSpec) -> Listing:
    """The list's page, size and order from the query string; bad values fall back to the
    list's defaults and are named in :attr:`Listing.problems`."""
    q = request.query_params
    problems: list[Problem] = []
    number = _number(q.get(spec.param("page")), problems)
    size = _size(q.get(spec.param("size")), spec, problems)
    sort, descending = spec.sort, spec.descending
    raw_sort = q.get(spec.param("sort"))
    if raw_sort:
        if raw_sort in spec.sorts:
            sort, descending = raw_sort, False
        else:
            problems.append(_problem("sort_unknown", "无法按该列排序，已按默认顺序显示。",
                                     "This list cannot be sorted by that column; "
                                     "showing the default order."))  # fmt: skip
    raw_dir = q.get(spec.param("dir"))
    if raw_dir in ("asc", "desc"):
        descending = raw_dir == "desc"
    elif raw_dir:
        problems.append(_problem("dir_invalid", "排序方向须为升序(asc)或降序(desc)。",
                                 "The direction must be asc or desc."))  # fmt: skip
    return Listing(spec, request.url, number, size, sort, descending, tuple(problems))
