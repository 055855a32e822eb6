"""Signals (outer ring): live state learned from what gateways report, held
in process by default: the budget ledger, the reply-length learner and the
estimate calibration log."""
