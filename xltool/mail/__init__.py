"""Mail: the office's round trip by email.

Templates go out one message per department, returns come back from a mailbox (IMAP, a
Maildir, an mbox file or `.eml` files) and are collected as `collect` collects a folder,
feedback goes back as a reply to the message a return came in, and departments without an
accepted return are reminded. Every message sent or fetched is recorded in the store, so a
rerun sends and fetches only what is new.

Mail drives the stages over a transport, as the command line does over a terminal: it may
use the template, collect and store modules; no stage imports it.
"""
