"""Seeds in, articles out: scanning the seeds folder, opening files safely, decoding and parsing
each seed (dates, header, blocks), permanent slugs, and reading the whole corpus against the
manifest. Pure but for reading the seeds folder.

May import: feeds.store and the shared modules (config, errors, model).
"""
