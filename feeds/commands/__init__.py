"""Command handlers: each takes (args, context) and returns the exit status."""

from feeds.commands.daemon import cmd_init, cmd_run, cmd_watch
from feeds.commands.mailing import cmd_digest, cmd_subscribers
from feeds.commands.publishing import cmd_build, cmd_check, cmd_serve

__all__ = [
    "cmd_build",
    "cmd_check",
    "cmd_digest",
    "cmd_init",
    "cmd_run",
    "cmd_serve",
    "cmd_subscribers",
    "cmd_watch",
]
