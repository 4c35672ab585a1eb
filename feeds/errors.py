"""Typed errors; only cli.py turns them into messages and exit codes."""

from __future__ import annotations


class FeedsError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(FeedsError):
    """feeds.toml (or a command-line value) is wrong; exit status 2."""


class SeedError(FeedsError):
    """One seed file cannot be published; it is skipped and reported."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class LockTimeout(FeedsError):
    """Another feeds process held the lock for too long."""


class PublishError(FeedsError):
    """The publish folder could not be written."""


class MailError(FeedsError):
    """The SMTP server could not be reached or refused the login."""


class StateError(FeedsError):
    """The state folder is damaged or lost its database; exit status 1, never a fresh start."""
