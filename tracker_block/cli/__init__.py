"""The mailbox / CLI / report side: reading mailboxes, the tracker-block command, the dashboard,
the words a reader sees, rule-list maintenance."""
