"""python -m feeds"""

from feeds.cli.main import run

run()
