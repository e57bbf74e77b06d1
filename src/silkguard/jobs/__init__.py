"""Background and scheduled work behind one small interface: an in-process runner for the
embedded default and Dramatiq on Redis when configured (issue 7)."""
