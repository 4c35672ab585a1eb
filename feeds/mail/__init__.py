"""The weekly digest: slots, which articles it holds, its pages and messages, subscribers, and
SMTP delivery exactly once.

May import: feeds.publish, feeds.site, feeds.read, feeds.store and the shared modules.
"""
