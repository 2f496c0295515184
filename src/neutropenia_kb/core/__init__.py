"""Layer 0: the one Problem record, the error family with exit statuses, exact units."""
