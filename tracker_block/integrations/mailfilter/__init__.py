"""Mail-server filtering: the SMTP (Postfix content filter) and pipe filters, delivery, organisation policy."""
