"""Quarantine (集中隔离): facilities and rooms, placement, follow-up, readiness, site survey."""
