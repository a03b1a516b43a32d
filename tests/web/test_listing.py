"""The list layer (fangkong.web.listing, fangkong.store.listing): bounds on page, size,
sort key and direction; links that keep the query; ORDER BY/LIMIT/OFFSET/COUNT in SQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.requests import Request

from fangkong.store import listing as store_listing
from fangkong.store.listing import Bounded
from fangkong.web import listing
from fangkong.web.listing import ListSpec

SPEC = ListSpec(("name", "when"), sort=None, size=50)


def _request(query: str, path: str = "/things") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [],
                    "query_string": query.encode(), "server": ("test", 80), "scheme": "http",
                    "root_path": ""})  # fmt: skip


def test_defaults_and_good_values() -> None:
    lst = listing.parse(_request(""), SPEC)
    assert (lst.number, lst.size, lst.sort, lst.descending, lst.status) == (1, 50, None, False, 200)
    lst = listing.parse(_request("page=3&size=20&sort=when&dir=desc"), SPEC)
    assert lst.bounded == Bounded("when", True, 20, 40)
    assert lst.status == 200
    assert lst.error("en") is None


@pytest.mark.parametrize(
    ("query", "code"),
    [("sort=password", "list.sort_unknown"), ("sort=name;drop", "list.sort_unknown"),
     ("size=7", "list.size_invalid"), ("size=100000", "list.size_invalid"),
     ("page=0", "list.page_invalid"), ("page=abc", "list.page_invalid"),
     ("page=-1", "list.page_invalid"), ("page=99999999999", "list.page_invalid"),
     ("dir=up", "list.dir_invalid")],
)  # fmt: skip
def test_bad_values_fall_back_visibly(query: str, code: str) -> None:
    lst = listing.parse(_request(query), SPEC)
    assert [p.code for p in lst.problems] == [code]
    assert lst.status == 422
    assert lst.bounded == Bounded(None, False, 50, 0)  # the defaults, never the bad value
    zh, en = lst.error("zh"), lst.error("en")
    assert zh
    assert en
    assert zh != en


def test_sort_links_keep_the_query_and_flip() -> None:
    lst = listing.parse(_request("region=1401&sort=name&page=4"), SPEC)
    down = lst.sort_link("name")
    assert down.startswith("/things?")
    assert "region=1401" in down
    assert "dir=desc" in down
    assert "page=" not in down
    other = lst.sort_link("when")
    assert "sort=when" in other
    assert "dir=asc" in other
    assert "region=1401" in other
    assert lst.aria("name") == "ascending"
    assert lst.aria("when") == "none"
    flipped = listing.parse(_request(down.split("?", 1)[1]), SPEC)
    assert flipped.aria("name") == "descending"
    assert "dir=asc" in flipped.sort_link("name")


def test_pager_links_keep_the_query() -> None:
    lst = listing.parse(_request("status=open&sort=when&dir=desc&page=2&size=20"), SPEC)
    p = lst.pager(total=61, shown=20)
    assert (p.first, p.last, p.total) == (21, 40, 61)
    assert p.prev
    assert p.next
    for link in (p.prev, p.next):
        assert "status=open" in link
        assert "sort=when" in link
        assert "dir=desc" in link
        assert "size=20" in link
    assert "page=1" in p.prev
    assert "page=3" in p.next
    last = listing.parse(_request("page=4&size=20"), SPEC).pager(total=61, shown=1)
    assert last.next is None
    assert (last.first, last.last) == (61, 61)
    sizes = dict(p.sizes)
    assert sizes[20] is None  # the size shown
    assert sizes[50]
    assert "page=" not in sizes[50]
    assert "status=open" in sizes[50]
    assert ("sort", "when") in lst.hidden()
    assert ("size", "20") in lst.hidden()


def test_prefixed_params_leave_the_other_list_alone() -> None:
    other = ListSpec(("size",), size=20, prefix="c")
    lst = listing.parse(_request("page=3&csort=size&cdir=desc&cpage=2"), other)
    assert lst.bounded == Bounded("size", True, 20, 20)
    assert "page=3" in lst.sort_link("size")
    assert "cpage" not in lst.sort_link("size")


def test_bounded_refuses_unbounded_pages() -> None:
    with pytest.raises(ValueError, match="out of range"):
        Bounded(limit=store_listing.MAX_LIMIT + 1)
    with pytest.raises(ValueError, match="out of range"):
        Bounded(offset=-1)


def test_fetch_sorts_slices_and_counts_in_sql() -> None:
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    t = sa.Table("t", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String), sa.Column("score", sa.Integer))  # fmt: skip
    meta.create_all(engine)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *a: statements.append(a[2]))  # fmt: skip
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": i, "name": f"n{i % 4}", "score": None if i == 3 else i}
                                  for i in range(1, 11)])  # fmt: skip
        columns = {"name": t.c.name, "score": t.c.score}
        query = sa.select(t).where(t.c.id > 1)
        statements.clear()
        rows, total = store_listing.fetch(conn, query, Bounded("score", True, 3, 0), columns,
                                          (t.c.id,))  # fmt: skip
        assert total == 9
        assert [r.id for r in rows] == [10, 9, 8]
        assert any("LIMIT" in s and "ORDER BY" in s for s in statements)
        assert any("count(" in s.lower() for s in statements)
        rows, _ = store_listing.fetch(conn, query, Bounded("score", False, 3, 6), columns,
                                      (t.c.id,))  # fmt: skip
        assert [r.id for r in rows] == [9, 10, 3]  # the empty score last, either way
        rows, _ = store_listing.fetch(conn, query, Bounded("name", False, 4, 0), columns,
                                      (t.c.id,))  # fmt: skip
        assert [r.id for r in rows] == [4, 8, 5, 9]  # equal keys: the list's own order
        rows, _ = store_listing.fetch(conn, query, Bounded("id; drop", False, 2, 0), columns,
                                      (t.c.id,))  # fmt: skip
        assert [r.id for r in rows] == [2, 3]  # a key outside the whitelist: own order


def test_clusters_sort_and_page_after_they_are_computed() -> None:
    """Clusters are computed, not stored: they are sorted and sliced after the
    computation, by the same bounded query (the chains page's ``csort``/``cpage``)."""
    from datetime import UTC, datetime, timedelta

    from fangkong.tracing.access import ClusterRow, page_clusters

    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    found = [ClusterRow(tuple(range(n)), {}, (), t0 + timedelta(days=d), t0 + timedelta(days=9))
             for n, d in ((5, 3), (4, 1), (2, 2))]  # fmt: skip
    rows, total = page_clusters(found, Bounded("first", False, 2, 0))
    assert total == 3
    assert [c.size for c in rows] == [4, 2]
    rows, _ = page_clusters(found, Bounded("first", False, 2, 2))
    assert [c.size for c in rows] == [5]
    rows, _ = page_clusters(found, Bounded("size", False, 3, 0))
    assert [c.size for c in rows] == [2, 4, 5]
    rows, _ = page_clusters(found, Bounded(None, False, 3, 0))
    assert [c.size for c in rows] == [5, 4, 2]  # the list's own order: largest first
