"""Where the engine meets mail clients and servers: Thunderbird, the mail filter, the proxy, IMAP."""
