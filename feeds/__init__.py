"""feeds: a folder of dated article files in; feeds, a static site and a weekly digest out."""

__version__ = "0.1.0"
