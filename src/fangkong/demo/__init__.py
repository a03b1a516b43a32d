"""The province loop (省级闭环): the platform's own jobs drive the twin, day by day.

``fangkong demo`` builds a synthetic province, imports it, and runs the loop: each simulated
day the adapter turns what the platform decided (placements, sealed compounds, codes at venue
gates, test orders and campaigns) into the twin's interventions, the twin lives the day, and
the platform's desks (labs, tracing, risk areas, quarantine, arrivals, early warning) take
what the day showed. The twin never imports the platform; this package is the only bridge.
"""

from fangkong.demo.cli import demo_command

__all__ = ["demo_command"]
