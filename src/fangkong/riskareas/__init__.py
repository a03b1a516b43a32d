"""Risk areas (风险区): designation, suggestions, automatic lifting, codes, needs of
sealed areas. ``rules`` reads the pack, ``lifting`` is the pure clock, ``service`` the
use cases, ``access`` the checks pages go through."""
