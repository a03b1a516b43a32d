"""Keeping goods and care moving (issue 20) in zh and en: checkpoints and crossings
(``fangkong.logistics``), key-freight passes (``fangkong.passes``), road status
(``fangkong.roads``), necessities (``fangkong.supply``) and urgent medical needs
(``fangkong.care``); with the task sources and task parameters they add to the command
centre's vocabularies.

Part of the label registry (``fangkong.web.vocabularies``); pages reach it through
``fangkong.web.labels``. A vocabulary another room declares (``task_param``,
``task_source``, ``via``) gets these values after its own.
"""

from __future__ import annotations

from typing import Final

from fangkong.web.vocabularies._kit import Label

VOCABULARIES: Final[dict[str, dict[str, Label]]] = {
    # logistics (migration 0024): checkpoints, crossings and their people
    "checkpoint_kind": {
        "road_checkpoint": ("公路检查站", "Road checkpoint"),
        "service_area": ("服务区", "Service area"),
        "toll_station": ("收费站", "Toll station"),
        "freight_hub": ("物流枢纽", "Freight hub"),
    },
    "crossing_direction": {"in": ("驶入", "In"), "out": ("驶出", "Out")},
    "vehicle_kind": {
        "lorry": ("货车", "Lorry"),
        "van": ("厢式货车", "Van"),
        "car": ("小客车", "Car"),
        "bus": ("客车", "Bus"),
    },
    "cargo_class": {
        "key_supplies": ("重点物资", "Key supplies"),
        "medical": ("医疗物资", "Medical supplies"),
        "ordinary": ("普通货物", "Ordinary goods"),
        "none": ("空载/无货", "No cargo"),
    },
    "pass_verdict": {
        "none": ("未出示通行证", "No pass shown"),
        "valid": ("通行证有效", "Pass valid"),
        "invalid": ("通行证无效", "Pass invalid"),
        "revoked": ("通行证已撤销", "Pass revoked"),
        "expired": ("通行证已过期", "Pass expired"),
        "wrong_vehicle": ("车辆与通行证不符", "Pass for another vehicle"),
        "wrong_route": ("路线与通行证不符", "Pass for another route"),
        "wrong_driver": ("司机与通行证不符", "Pass for other drivers"),
    },
    "crossing_outcome": {
        "passed": ("查验通行", "Passed"),
        "sampled_released": ("即采即走", "Sampled and released"),
        "turned_back": ("劝返", "Turned back"),
        "closed_loop": ("闭环管理", "Into the closed loop"),
    },
    "crossing_via": {
        "api": ("设备接口", "Device API"),
        "file": ("文件导入", "File import"),
        "form": ("页面登记", "Page form"),
    },
    "crossing_role": {"driver": ("司机", "Driver"), "passenger": ("随车人员", "Passenger")},
    "crossing_colour": {
        "green": ("绿码", "Green code"),
        "yellow": ("黄码", "Yellow code"),
        "red": ("红码", "Red code"),
        "none": ("未查到健康码", "No health code found"),
    },
    # road status (fangkong.roads, migration 0026)
    "road_state": {
        "normal": ("畅通", "Flowing"),
        "congested": ("拥堵", "Congested"),
        "closed_authorised": ("依令关闭", "Closed by order"),
        "closed_unauthorised": ("擅自关闭", "Closed without authority"),
        "no_data": ("无数据", "No data"),
    },
    "road_report_status": {
        "open": ("正常通行", "Open"),
        "restricted": ("限流通行", "Restricted"),
        "closed": ("关闭", "Closed"),
    },
    "road_condition": {
        "queue": ("排队车辆超限", "Queue over the limit"),
        "wait": ("等待时间超限", "Wait over the limit"),
        "closure_unauthorised": ("未经批准关闭", "Closed without authority"),
    },
    "authority_level": {
        "national": ("国家", "National"),
        "province": ("省级", "Provincial"),
        "city": ("市级", "City"),
        "county": ("县级", "County"),
        "township": ("乡镇", "Township"),
    },
    "road_report_via": {
        "api": ("设备接口", "Device API"),
        "file": ("文件导入", "File import"),
        "form": ("页面上报", "Page form"),
        "cli": ("命令行", "Command line"),
    },
    # key-freight passes (migration 0025): a pass's status at a time
    "pass_status": {
        "valid": ("有效", "Valid"),
        "pending": ("未生效", "Not yet in force"),
        "expired": ("已过期", "Expired"),
        "revoked": ("已撤销", "Revoked"),
    },
    # necessities (fangkong.supply)
    "outlet_kind": {
        "market": ("农贸市场", "Market"),
        "supermarket": ("超市", "Supermarket"),
        "supplier": ("保供企业", "Supplier"),
        "pharmacy": ("药店", "Pharmacy"),
    },
    "delivery_status": {
        "planned": ("待配送", "Planned"),
        "delivered": ("已送达", "Delivered"),
        "cancelled": ("已取消", "Cancelled"),
    },
    "supply_alert_status": {"open": ("未解除", "Open"), "closed": ("已解除", "Closed")},
    "supply_cause": {
        "stock": ("库存低于保供底线", "Stock below the floor"),
        "delivery": ("封控区配送未按时送达", "Delivery to a sealed area late"),
    },
    # the care register (fangkong.care)
    "care_kind": {  # care_needs.kind
        "dialysis": ("血液透析", "Dialysis"),
        "chemotherapy": ("肿瘤放化疗", "Chemotherapy"),
        "pregnancy": ("孕产妇就医", "Pregnancy and birth"),
        "chronic_medication": ("慢性病用药", "Chronic medication"),
        "emergency": ("急危重症", "Emergency"),
        "other": ("其他就医", "Other medical care"),
    },
    "care_status": {  # care_needs.status
        "open": ("待安排", "Open"),
        "planned": ("已安排转运", "Transfer planned"),
        "in_transfer": ("转运中", "In transfer"),
        "done": ("已完成", "Done"),
        "cancelled": ("已取消", "Cancelled"),
    },
    "care_outcome": {  # care_needs.outcome
        "admitted": ("已收治入院", "Admitted"),
        "treated_returned": ("诊疗后返回", "Treated and returned"),
        "treated_at_home": ("居家/上门处置", "Treated at home"),
        "other": ("其他", "Other"),
    },
    # added to the command centre's vocabularies (epidemic.py) and to how a value came in
    "via": {"file": ("文件导入", "File import")},  # supply's report files
    "task_source": {
        "road_alert": ("道路通行预警", "Road alert"),
        "supply_alert": ("保供预警", "Supply alert"),
        "care_need": ("急需就医", "Urgent medical need"),
    },
    "task_param": {
        # road alerts (fangkong.roads)
        "checkpoint": ("卡口", "Checkpoint"),
        "condition": ("情形", "Condition"),
        "observed": ("实测", "Observed"),
        "limit": ("限值", "Limit"),
        "authority": ("决定机关", "Authority"),
        # supply alerts
        "good": ("物资", "Good"),
        "cause": ("原因", "Cause"),
        "days": ("可供应天数", "Days of supply"),
        "floor": ("保供底线（天）", "Floor (days)"),
        # medical needs
        "care_kind": ("就医需求", "Medical need"),
    },
}
