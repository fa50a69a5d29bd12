"""Discord features, one package each (`bot/exts/<feature>/`), loaded by `bot.app`.

Packages whose name starts with `_` hold shared helpers and are not loaded as extensions.
"""
