"""The one SQLite state database: build manifest, slugs, digests, subscribers, deliveries.

No SQL lives outside this package.
"""
