"""Vocabularies of early warning (监测预警): the multi-point signals (多点触发), alert
statuses and their moves, severities. Names are stable: files, the API and the policy
packs use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# signal name: (Chinese label, English label)
SIGNALS: Final[Mapping[str, tuple[str, str]]] = {
    "fever_clinic": ("发热门诊就诊", "fever-clinic visits"),
    "pharmacy_antipyretic": ("药店退热药销售", "pharmacy sales: antipyretics"),
    "pharmacy_cough": ("药店止咳药销售", "pharmacy sales: cough medicine"),
    "pharmacy_antiviral": ("药店抗病毒药销售", "pharmacy sales: antivirals"),
    "pharmacy_antibiotic": ("药店抗菌药销售", "pharmacy sales: antibiotics"),
    "pharmacy_cold": ("药店感冒药销售", "pharmacy sales: cold medicine"),
    "lab_positive": ("实验室阳性", "laboratory positives"),
    "positive_outside_quarantine": ("社会面阳性", "positives found outside quarantine"),
    "pneumonia_unknown_cause": ("不明原因肺炎", "pneumonia of unknown cause"),
    "school_absence": ("学校因病缺课", "school absences due to illness"),
    "environment_positive": ("环境样本阳性", "positive environment samples"),
    "cold_chain_positive": ("冷链样本阳性", "positive cold-chain samples"),
    "screening_positive": ("常规筛查阳性", "routine-screening positives"),
}
DRUG_CLASSES: Final = ("antipyretic", "cough", "antiviral", "antibiotic", "cold")  # 五类药品

LEVELS: Final = ("province", "city", "county", "township", "community", "compound")
FREQUENCIES: Final = ("day", "week")
SEVERITIES: Final = ("low", "medium", "high")  # 低, 中, 高

STATUSES: Final = (
    "raised",  # 已发出
    "verified",  # 已核实
    "investigated",  # 已调查
    "closed",  # 已结案
    "dismissed",  # 排除（误报）
)
OPEN: Final = frozenset({"raised", "verified", "investigated"})
TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "raised": frozenset({"verified", "dismissed"}),
    "verified": frozenset({"investigated", "dismissed"}),
    "investigated": frozenset({"closed"}),
    "closed": frozenset(),
    "dismissed": frozenset(),
}
KINDS: Final = ("trigger", "detection")  # 单病例/单事件触发, 统计预警


def in_check(column: str, values: tuple[str, ...] | frozenset[str]) -> str:
    """The SQL of a CHECK constraint: ``column`` takes one of ``values``."""
    return f"{column} IN ({','.join(repr(v) for v in values)})"
