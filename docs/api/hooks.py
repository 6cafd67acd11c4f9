"""mkdocs hooks for the site (mkdocs.yml `hooks:`).

Our docstrings are one-line formulas, not Markdown: `result[i][j]` or `x[idx][mask]` in one reads
as a Markdown reference link, and mkdocs-autorefs warns that target 'j' does not exist, which
`--strict` turns into a failure. Those warnings come from docstrings (the message names the .py
file and line); they are logged at INFO instead. A broken cross-reference written in a docs page
(no .py origin) still warns and still fails the strict build.
"""
import logging
import re

_FROM_DOCSTRING = re.compile(r"from \S+\.pyi?:\d+: \(.*\) Could not find cross-reference target")


class _DocstringRefsAsInfo(logging.Filter):
    def filter(self, record):
        if record.levelno == logging.WARNING and _FROM_DOCSTRING.search(record.getMessage()):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def on_startup(command, dirty):
    logger = logging.getLogger("mkdocs.plugins.mkdocs_autorefs._internal.plugin")
    if not any(isinstance(f, _DocstringRefsAsInfo) for f in logger.filters):
        logger.addFilter(_DocstringRefsAsInfo())
