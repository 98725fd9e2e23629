"""Signals other apps listen to (so inquiries need not import them)."""

from django.dispatch import Signal

# Sent inside the transaction that moved an inquiry to another lane: inquiry, previous.
lane_changed = Signal()
