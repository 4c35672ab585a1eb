"""python -m feeds"""

from feeds.cli import run

run()
