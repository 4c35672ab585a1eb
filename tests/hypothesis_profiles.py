"""Hypothesis settings for the property tests of hostile input.

The "feeds-ci" profile runs enough examples to matter within the suite's time budget;
FEEDS_HYPOTHESIS_EXAMPLES=N runs N per property instead (for a long local hunt). The
example database lives in .hypothesis/ (git-ignored); with CI set it is not used at all.
Profiles are applied per test (``@PROPERTY``), so other test files keep their settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 200


def _examples() -> int:
    raw = os.environ.get("FEEDS_HYPOTHESIS_EXAMPLES", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else CI_EXAMPLES


settings.register_profile(
    "feeds-ci",
    max_examples=_examples(),
    deadline=None,  # the machine is shared and loaded: timing says nothing here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None if os.environ.get("CI") else settings.get_profile("default").database,
    print_blob=True,
)

PROPERTY = settings(settings.get_profile("feeds-ci"))
"""Decorator for property tests: ``@PROPERTY`` above ``@given``."""
