"""HTTP: the local preview server of the publish folder (and, later, the readers' endpoint).

May import: every stage below it (run, mail, publish, site, read, store) and the shared modules.
"""
