"""Bring the publish folder up to date: the build (scan, read, plan, write, record) and the
atomic publish folder it writes through; pings the WebSub hub after a build.

May import: feeds.site, feeds.read, feeds.store and the shared modules.
"""
