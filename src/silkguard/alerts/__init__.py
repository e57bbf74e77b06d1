"""Alerts: who is affected by an incident or an overdue movement, delivery over each person's
channels in their language, and roll-call (issue 7)."""
