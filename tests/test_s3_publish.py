"""Publishing to S3-compatible storage, over HTTP against moto's S3 server: the bucket holds,
object by object, what a local build of the same seeds writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feeds.errors import ConfigError
from feeds.publish.s3 import S3Publisher, content_type, phase
from tests.conftest import SITE_TOML, Site, clean_build, seed_articles, tree
from tests.moto_server import Bucket

NOW = "2026-02-01T12:00"


def _image(site: Site) -> None:
    from PIL import Image

    (site.seeds / "pic.png").parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), "red").save(site.seeds / "pic.png")
    site.seed("img.txt", "title: З картинкою\ndate: 2026-01-20\nimage: pic.png\n\nТекст.\n")


def test_bucket_equals_a_local_build(tmp_path: Path, s3_bucket: Bucket) -> None:
    site = Site(tmp_path / "site", s3_bucket.site_toml(SITE_TOML, "news/"))
    seed_articles(site, 12)
    _image(site)
    done = site.run("build", "--now", NOW)
    assert done.returncode == 0, done.stderr
    local = clean_build(tmp_path, site.seeds, NOW)
    assert s3_bucket.objects("news/") == local
    assert not site.out.exists() or not any(site.out.iterdir())  # nothing written locally
    s3 = s3_bucket.client()
    for rel in local:
        head = s3.head_object(Bucket=s3_bucket.name, Key="news/" + rel)
        assert head["ContentType"] == content_type(rel), rel
        assert head["CacheControl"].startswith("public, max-age="), rel
    assert content_type("rss.xml") == "application/rss+xml; charset=utf-8"
    assert content_type("feed.json") == "application/feed+json; charset=utf-8"
    assert content_type("index.html") == "text/html; charset=utf-8"
    assert content_type("media/pic.png") == "image/png"

    # an unchanged rebuild uploads nothing; a changed seed only what it touches; a removed
    # one's objects go: as in a local folder going through the same builds
    again = site.run("build", "--now", NOW, "-v")
    assert again.returncode == 0 and "wrote 0 files" in again.stderr
    twin = Site(tmp_path / "twin", SITE_TOML.replace('seeds = "seeds"', f'seeds = "{site.seeds}"'))
    assert twin.main("build", "--now", NOW) == 0
    (site.seeds / "03.txt").unlink()
    site.seed("05.txt", "title: Нова назва\ndate: 2026-01-05\n\nІнший текст.\n")
    assert site.main("build", "--now", NOW) == 0
    assert twin.main("build", "--now", NOW) == 0
    assert s3_bucket.objects("news/") == tree(twin.out)


def test_only_changed_objects_are_uploaded_in_phases(tmp_path: Path, s3_bucket: Bucket) -> None:
    site = Site(tmp_path, s3_bucket.site_toml(SITE_TOML))
    config = site.config()
    first = S3Publisher(config)
    for rel in ("sitemap.xml", "rss.xml", "index.html", "articles/a/index.html", "media/x.png"):
        first.write(rel, rel.encode())
    first.commit()
    assert [phase(rel) for rel in first.written] == [0, 1, 2, 3, 4]  # linked-to first
    second = S3Publisher(config)
    assert second.listing() == set(first.written)
    assert not second.write("rss.xml", b"rss.xml")  # same bytes: its ETag says so
    assert second.write("index.html", b"new")
    second.remove("sitemap.xml")
    second.commit()
    assert second.written == ["index.html"]
    assert s3_bucket.objects() == {
        "rss.xml": b"rss.xml",
        "index.html": b"new",
        "articles/a/index.html": b"articles/a/index.html",
        "media/x.png": b"media/x.png",
    }
    assert second.exists("index.html") and not second.exists("sitemap.xml")


def test_a_killed_upload_converges_on_the_next_run(tmp_path: Path, s3_bucket: Bucket) -> None:
    site = Site(tmp_path / "site", s3_bucket.site_toml(SITE_TOML))
    seed_articles(site, 28)
    child = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), "build", "--now", NOW],
        cwd=site.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    s3 = s3_bucket.client()
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        if s3.list_objects_v2(Bucket=s3_bucket.name).get("KeyCount", 0):
            child.send_signal(signal.SIGKILL)  # some objects up, the rest not
            break
    child.wait()
    done = site.run("build", "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert s3_bucket.objects() == clean_build(tmp_path, site.seeds, NOW)
    assert not any((site.state / "s3-spool").glob("*.tmp"))


@pytest.mark.parametrize(
    "out", ["s3://", "s3://Bad_Bucket/", "s3://bucket/prefix-without-slash", "s3://b/../x/"]
)
def test_a_bad_bucket_url_is_a_config_error(tmp_path: Path, out: str) -> None:
    site = Site(tmp_path, SITE_TOML.replace('out = "public"', f'out = "{out}"'))
    with pytest.raises(ConfigError, match=r"paths\.out"):
        site.config()
