"""``tracker-block imap``: scan and clean a mailbox on any IMAP server, so every client reads it clean.

Modules, in the order data flows: ``account`` (where and how to log in), ``client`` (the IMAP
operations we need, over IMAPClient), ``marker`` (the header that makes cleaning idempotent),
``state`` (the resume journal), ``cleaner`` (scan, and the append / verify / move transaction),
``watch`` (IDLE or polling), ``cli`` (the ``imap scan|clean|watch`` arguments).
"""
