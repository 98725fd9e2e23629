"""Inbound mail, which becomes inquiries: ``ingest`` (store the bytes first, then parse,
thread and act), the transports that hand it the bytes (``receiver``: LMTP/SMTP;
``imap``: polling mailboxes; the pipe is ``madoguchi mail ingest``). The mail models
(``Mailbox``, ``InboundMessage``) and the parser stay in ``mail``, which knows nothing of
inquiries; this package sits above both."""
