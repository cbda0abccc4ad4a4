"""Registration's tables: people, entries, review decisions, tickets and check-ins."""
