"""`feeds init`: a new site folder with a commented feeds.toml, an example seed and templates."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from feeds.errors import ConfigError
from feeds.site.templating import PACKAGE_TEMPLATES

INIT = PACKAGE_TEMPLATES / "init"
EXAMPLE_SEED = "welcome.txt"
GITIGNORE = (
    "# Output and the state database (it holds subscribers) stay out of git.\n/public/\n/state/\n"
)


def create_site(target: Path, now: datetime) -> list[str]:
    """Create the site folder `target` (new, or empty); return what was created, for the user."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"{target} already exists and is not empty; choose a new folder")
    target.mkdir(parents=True, exist_ok=True)
    toml = (INIT / "feeds.toml").read_text(encoding="utf-8")
    (target / "feeds.toml").write_text(toml.replace("@ID_YEAR@", str(now.year)), encoding="utf-8")
    seed = (INIT / EXAMPLE_SEED).read_text(encoding="utf-8")
    (target / "seeds").mkdir()
    (target / "seeds" / EXAMPLE_SEED).write_text(
        seed.replace("@DATE@", now.date().isoformat()), encoding="utf-8"
    )
    shutil.copytree(
        PACKAGE_TEMPLATES,
        target / "templates",
        ignore=shutil.ignore_patterns(INIT.name, "__pycache__"),
    )
    (target / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    return ["feeds.toml", f"seeds/{EXAMPLE_SEED}", "templates/", ".gitignore"]
