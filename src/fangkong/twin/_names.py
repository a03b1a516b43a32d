"""Word lists for synthetic names: places, compounds, people, venues (all invented).

Every name the twin writes is put together from these lists, so no real person appears.
Place names use characters common in northern Chinese place names; they may by chance
match a real place, which is harmless — codes, not names, identify regions.
"""

from __future__ import annotations

from functools import cache

import numpy as np


def _chars(text: str) -> tuple[str, ...]:
    """The distinct characters of text, in order (a repeat would repeat names)."""
    return tuple(dict.fromkeys(text))


def _words(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.split()))


# ---- provinces --------------------------------------------------------------------------

# prefix -> (name, south, north, west, east): a rough bounding box in WGS 84 degrees.
PROVINCES: dict[str, tuple[str, float, float, float, float]] = {
    "11": ("北京市", 39.4, 41.1, 115.4, 117.5),
    "12": ("天津市", 38.6, 40.3, 116.7, 118.1),
    "13": ("河北省", 36.0, 42.6, 113.5, 119.9),
    "14": ("山西省", 34.5, 40.7, 110.2, 114.6),
    "15": ("内蒙古自治区", 37.4, 53.3, 97.2, 126.1),
    "21": ("辽宁省", 38.7, 43.5, 118.8, 125.8),
    "22": ("吉林省", 40.9, 46.3, 121.6, 131.3),
    "23": ("黑龙江省", 43.4, 53.6, 121.2, 135.1),
    "31": ("上海市", 30.7, 31.9, 120.9, 122.0),
    "32": ("江苏省", 30.8, 35.1, 116.4, 121.9),
    "33": ("浙江省", 27.0, 31.2, 118.0, 123.0),
    "34": ("安徽省", 29.4, 34.7, 114.9, 119.7),
    "35": ("福建省", 23.5, 28.3, 115.8, 120.7),
    "36": ("江西省", 24.5, 30.1, 113.6, 118.5),
    "37": ("山东省", 34.4, 38.4, 114.8, 122.7),
    "41": ("河南省", 31.4, 36.4, 110.4, 116.7),
    "42": ("湖北省", 29.0, 33.3, 108.4, 116.1),
    "43": ("湖南省", 24.6, 30.1, 108.8, 114.3),
    "44": ("广东省", 20.2, 25.5, 109.7, 117.3),
    "45": ("广西壮族自治区", 20.9, 26.4, 104.5, 112.1),
    "46": ("海南省", 18.2, 20.2, 108.6, 111.1),
    "50": ("重庆市", 28.2, 32.2, 105.3, 110.2),
    "51": ("四川省", 26.0, 34.3, 97.4, 108.5),
    "52": ("贵州省", 24.6, 29.2, 103.6, 109.6),
    "53": ("云南省", 21.1, 29.2, 97.5, 106.2),
    "54": ("西藏自治区", 26.9, 36.5, 78.4, 99.1),
    "61": ("陕西省", 31.7, 39.6, 105.5, 111.3),
    "62": ("甘肃省", 32.6, 42.8, 92.1, 108.7),
    "63": ("青海省", 31.6, 39.2, 89.4, 103.1),
    "64": ("宁夏回族自治区", 35.2, 39.4, 104.3, 107.7),
    "65": ("新疆维吾尔自治区", 34.3, 49.2, 73.5, 96.4),
}

# ---- places -----------------------------------------------------------------------------

PLACE_FIRST = _chars(
    "太大阳晋长临忻吕朔运平安宁兴永清河泉盂寿灵昔沁襄屯黎壶高陵泽沃洪汾介孝文交岚静古"
    "原定代繁五神保偏右怀应浑广左天阳"
)
PLACE_SECOND = _chars("原同泉城治中汾州梁阳平山川源水谷乡关坪曲县安宁丰和顺定远泽德义昌武兴石林")

STREET_FIRST = _chars("坞双平建桃和新文迎府柳朝龙凤锦鼓钟青红长永康乐学兴华东西南北前后金银玉")
STREET_SECOND = _chars("城塔阳园平华泽门湖街楼台桥亭苑坊营口湾关山河林")

VILLAGE_FIRST = _chars("王李张刘赵郭武郝杨孙马高段闫东西南北前后上下大小石柳枣杏榆桑槐梨")
VILLAGE_SECOND = _words("家庄 庄 寨 堡 沟 峪 坡 坪 营 屯 店 关 庙 家堡 家沟 家峪 家坡 村")

COMPOUND_WORDS = _words(
    "锦绣 和平 幸福 阳光 金色 翡翠 滨河 御景 龙城 康乐 丽景 书香 瑞丰 万柳 碧水 春晓 怡景 "
    "富力 祥和 东方 世纪 盛世 紫荆 丹桂 清华 安居 兰亭 学府 晋阳 汾水 凤凰 南湖 北辰 西山 "
    "朝阳 永和 华宇 金地 明珠"
)
COMPOUND_SUFFIXES = _words("苑小区 园 家园 花园 小区 公寓 新村 佳苑 名都 华庭 里 嘉园")

CHINESE_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """Chinese numeral for 1 ≤ n ≤ 9999 (十二, 一百零五), for ordinals such as 一组."""
    if not 1 <= n <= 9999:
        raise ValueError(f"chinese_number needs 1..9999, got {n}")
    if 10 <= n < 20:
        return "十" + (CHINESE_DIGITS[n - 10] if n > 10 else "")
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero and out:
                out += "零"
            out += CHINESE_DIGITS[digit] + unit
            zero = False
        else:
            zero = True
    return out


@cache
def _pairs(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a + b for a in first for b in second if a != b)


def pair_names(
    rng: np.random.Generator, k: int, first: tuple[str, ...], second: tuple[str, ...]
) -> list[str]:
    """k distinct stems first+second (an ordinal is added when k exceeds the pairs)."""
    pairs = _pairs(first, second)
    order = rng.permutation(len(pairs))
    stems = []
    for i in range(k):
        stem = pairs[int(order[i % len(pairs)])]
        if i >= len(pairs):
            stem += chinese_number(i // len(pairs) + 1)
        stems.append(stem)
    return stems


# ---- people -----------------------------------------------------------------------------

# Common surnames with rough shares (per cent); the tail is weighted evenly.
_SURNAME_SHARES = (
    ("王", 7.1),
    ("李", 7.0),
    ("张", 6.7),
    ("刘", 5.1),
    ("陈", 4.6),
    ("杨", 3.2),
    ("赵", 2.3),
    ("黄", 2.4),
    ("周", 1.9),
    ("吴", 2.0),
    ("徐", 1.6),
    ("孙", 1.5),
    ("马", 1.3),
    ("朱", 1.3),
    ("胡", 1.2),
    ("郭", 1.1),
    ("何", 1.1),
    ("林", 1.0),
    ("高", 1.0),
    ("罗", 1.0),
    ("郑", 0.9),
    ("梁", 0.8),
    ("谢", 0.7),
    ("宋", 0.7),
    ("唐", 0.6),
    ("许", 0.6),
    ("韩", 0.6),
    ("冯", 0.6),
    ("邓", 0.6),
    ("曹", 0.5),
)
_SURNAME_TAIL = _chars(
    "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟"
    "熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
SURNAMES: tuple[str, ...] = (
    tuple(s for s, _ in _SURNAME_SHARES) + _SURNAME_TAIL + ("欧阳", "司马", "上官")
)
SURNAME_WEIGHTS = np.array(
    [w for _, w in _SURNAME_SHARES] + [0.25] * len(_SURNAME_TAIL) + [0.02, 0.01, 0.01]
)
SURNAME_WEIGHTS = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()

GIVEN_MALE = _chars(
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建亮成志国文峰"
    "海东瑞博晨轩睿子振家兴德福光天永"
)
GIVEN_FEMALE = _chars(
    "芳娜敏静丽艳娟霞秀燕玲桂丹萍红玉兰梅琳雪婷颖倩洁慧莉淑晶欣怡佳悦雅琪彤蕾月凤云春华英珍荣晓璐"
)

# Passport holders living in the province: ISO 3166-1 alpha-3 country and a share.
PASSPORT_COUNTRIES = (
    ("KOR", 0.18),
    ("JPN", 0.12),
    ("USA", 0.10),
    ("RUS", 0.08),
    ("MNG", 0.06),
    ("VNM", 0.06),
    ("DEU", 0.05),
    ("GBR", 0.05),
    ("FRA", 0.04),
    ("CAN", 0.04),
    ("AUS", 0.04),
    ("THA", 0.04),
    ("PAK", 0.04),
    ("MYS", 0.03),
    ("SGP", 0.03),
    ("ITA", 0.02),
    ("BRA", 0.02),
)
LATIN_SURNAMES = _words(
    "KIM PARK SATO TANAKA SMITH JOHNSON IVANOV PETROV BATBAYAR NGUYEN TRAN MULLER SCHMIDT "
    "BROWN MARTIN BERNARD TAYLOR WILSON SILVA ROSSI KHAN TAN LEE"
)
LATIN_GIVEN_MALE = ("MINJUN", "HIROSHI", "JOHN", "DAVID", "ALEXEI", "BAT", "MINH", "LUKAS")
LATIN_GIVEN_FEMALE = ("JIWOO", "YUKI", "MARY", "ANNA", "OLGA", "SARANGEREL", "LAN", "SOPHIE")

# ---- venues -----------------------------------------------------------------------------

SCHOOL_KINDS = ("小学", "中学", "实验小学", "第一中学", "中心小学", "职业中学")
MARKET_KINDS = ("农贸市场", "菜市场", "综合市场", "批发市场")
SUPERMARKET_WORDS = ("惠民", "百姓", "家和", "便民", "万家", "鑫隆", "福满", "佳乐", "新天地")
RESTAURANT_DISHES = _words("面馆 刀削面 饺子馆 火锅 小吃 烧烤 饭店 酒家 羊杂割 包子铺")
PHARMACY_WORDS = ("康宁", "仁和", "百姓", "济民", "益民", "健康", "福康", "安泰", "同济")
WORKPLACE_KINDS = _words(
    "机械厂 建筑有限公司 煤业有限公司 纺织厂 物流有限公司 食品有限公司 科技有限公司 "
    "化工有限公司 商贸有限公司 电力公司 建材厂 印刷厂"
)
HOSPITAL_KINDS = ("人民医院", "中医医院", "第二人民医院", "妇幼保健院", "第三人民医院")
TRANSIT_KINDS = ("站", "汽车客运站", "南站", "东站", "机场", "北站", "西站", "长途汽车站")
CHECKPOINT_KINDS = ("高速收费站", "检查站", "公路检查站", "服务区")
HOTEL_KINDS = ("宾馆", "大酒店", "快捷酒店", "商务酒店", "假日酒店", "招待所")
OTHER_KINDS = ("公园", "影城", "体育馆", "图书馆", "文化广场", "洗浴中心", "网吧", "健身房")
ROAD_KINDS = ("路", "街", "大街", "巷")
