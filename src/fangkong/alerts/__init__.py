"""Alerts (预警): signals and detectors raise alerts with evidence; people verify,
investigate and close them (``alerts.service``; guarded use cases in ``alerts.access``).
"""
