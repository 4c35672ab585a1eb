"""The state: the SQLite database (schema, migrations, small typed functions), the build
snapshot and the lock on the state folder. No SQL lives anywhere else.

May import: feeds.config, feeds.errors, feeds.model. Nothing above it.
"""
