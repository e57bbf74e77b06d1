"""Journeys: risk-weighted routes over the road network (movement requests, policies and
approvals come next; see docs/network.md)."""
