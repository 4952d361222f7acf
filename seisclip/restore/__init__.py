"""Restoration: clipped records, classic baselines, windowed restoration with a model, and evaluation."""
