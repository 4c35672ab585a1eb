"""HTTP: the local preview server of the publish folder, and the readers' endpoint (`feeds web`:
sign-up, confirm, unsubscribe).

May import: every stage below it (run, mail, publish, site, read, store) and the shared modules.
"""
