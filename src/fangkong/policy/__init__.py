"""Policy packs (政策包): every rule the platform applies, as versioned, validated data.

The public names are re-exported here; ``tests/policy/test_public_api.py`` pins the list.
The ``fangkong policy`` commands live in ``fangkong.policy.cli``.
"""

from fangkong.policy.diff import PackChange, diff_packs
from fangkong.policy.loader import (
    DEFAULT_PACK,
    PackInvalid,
    PackProblem,
    builtin_names,
    check_pack_file,
    load_pack,
)
from fangkong.policy.model import Colour, Pack, Phase, Rule, TestingGroup, Text, VenuePolicy

__all__ = [
    "DEFAULT_PACK",
    "Colour",
    "Pack",
    "PackChange",
    "PackInvalid",
    "PackProblem",
    "Phase",
    "Rule",
    "TestingGroup",
    "Text",
    "VenuePolicy",
    "builtin_names",
    "check_pack_file",
    "diff_packs",
    "load_pack",
]
