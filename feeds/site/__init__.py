"""Articles in, outputs out: the plan of every page and feed, what a change touches (delta),
HTML pages, RSS/Atom/JSON feeds, discovery files, groups (tags, sections), media and templates.
Nothing here writes to the publish folder: outputs are rendered on demand.

May import: feeds.read, feeds.store and the shared modules.
"""
