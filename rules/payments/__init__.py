"""Payments: applying the gateway's word once, refunds, what we asked the gateway, reconciliation."""
