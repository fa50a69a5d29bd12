"""The decision archive as a static web site: `python -m bot archive build|serve`.

Built from the sealed records in the store (and, for the opinion map, the events they seal).
Pages are rendered by Jinja2 with autoescaping, so member text is always text, never markup;
the site makes no request outside its own folder and works from `file://`. Nothing here
knows of Discord (an import contract says so).
"""

from bot.archive.site import BuildReport, UnknownGuild, build_archive

__all__ = ["BuildReport", "UnknownGuild", "build_archive"]
