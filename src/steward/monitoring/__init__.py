"""Monitoring: monitors over the prediction log, windows, segments, KPIs, alert rules, notifiers."""
