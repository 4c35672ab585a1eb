"""When things happen: one cron tick, the scheduler daemon and the seeds-folder watcher. No
business logic: they call the build and the digest.

May import: feeds.mail, feeds.publish, feeds.site, feeds.read, feeds.store and the shared modules.
"""
