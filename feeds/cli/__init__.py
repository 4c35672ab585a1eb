"""The command line: argument parsing, the Context every handler gets, exit codes, and one thin
handler per command. Only this package prints to the user and picks exit codes.

May import: every stage and the shared modules.
"""
