"""Intake: free-text incident reports turned into reviewed drafts, and the community tip line
(issue 10)."""
