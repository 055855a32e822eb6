"""Pricing: the one table of price units, normalised usage, estimates and
exact costs, and usage extraction from provider response bodies."""
