"""Random small check-in data and the brute-force reference the engines are held to."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

Stay = tuple[int, int, int, int | None]  # person, venue, time_in, time_out (None: missing)
Case = tuple[int, int, int]  # person, window start, window end


@dataclass(frozen=True)
class World:
    stays: list[Stay]
    cases: list[Case]
    min_overlap: list[int]  # per venue type (venue % 2)
    dwell: list[int]

    def time_out(self, i: int) -> int:
        _person, venue, t_in, t_out = self.stays[i]
        return t_in + self.dwell[venue % 2] if t_out is None else t_out


@st.composite
def worlds(draw: st.DrawFn) -> World:
    stay = st.tuples(
        st.integers(0, 5),
        st.integers(0, 3),
        st.integers(0, 100),
        st.one_of(st.none(), st.integers(0, 60)),
    ).map(lambda s: (s[0], s[1], s[2], None if s[3] is None else s[2] + s[3]))
    stays = draw(st.lists(stay, max_size=30))
    if stays and draw(st.booleans()):  # exact duplicates of some stays
        stays += draw(st.lists(st.sampled_from(stays), max_size=5))
    case = st.tuples(st.integers(0, 6), st.integers(-20, 150), st.integers(-10, 100)).map(
        lambda c: (c[0], c[1], c[1] + c[2])  # may be empty or outside every stay
    )
    cases = draw(st.lists(case, max_size=4))
    return World(
        stays=stays,
        cases=cases,
        min_overlap=draw(st.lists(st.integers(0, 20), min_size=2, max_size=2)),
        dwell=draw(st.lists(st.integers(0, 30), min_size=2, max_size=2)),
    )


Row = tuple[int, int, int, int, int, int, int]


def brute_force(world: World) -> tuple[list[Row], list[Row]]:
    """The definition, pair by pair: (case, contact, venue, case stay, stay, start, end)."""
    close: list[Row] = []
    general: list[Row] = []
    for c, (person, w_start, w_end) in enumerate(world.cases):
        for i, (p, venue, t_in, _) in enumerate(world.stays):
            if p != person:
                continue
            s, e = max(t_in, w_start), min(world.time_out(i), w_end)
            if s >= e:
                continue
            for j, (q, other_venue, o_in, _) in enumerate(world.stays):
                if q == person or other_venue != venue:
                    continue
                start, end = max(s, o_in), min(e, world.time_out(j))
                if end - start <= 0:
                    continue
                row = (c, q, venue, i, j, start, end)
                (close if end - start >= world.min_overlap[venue % 2] else general).append(row)
    return sorted(close), sorted(general)
