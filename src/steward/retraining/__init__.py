"""Retraining: triggers, the seasonality check, champion and challenger, progressive rollout."""
