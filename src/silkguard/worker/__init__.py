"""The background work of a silkguard deployment as jobs: alert deliveries (and the
escalations they lead to), roll-call reminders, escort timers, the overdue check and the
position retention purge, on the runner the settings choose (see docs/jobs.md)."""
