"""Generated sections of markdown files, between two HTML comments.

A block starts with ``<!-- NAME:begin ... -->`` (the rest of that line says
who generates it) and ends with ``<!-- NAME:end -->``; tools rewrite what
lies between and tests compare it with what the tool computes now.
"""
import re
from typing import Optional, Pattern


class GeneratedBlock:
    """The block ``NAME`` of a markdown text.

    Args:
        name (str): the block's name, e.g. ``'model-zoo'``.
        begin (str): the full begin line written into new documents, which
            must start with ``<!-- NAME:begin``.
    """

    def __init__(self, name: str, begin: str):
        if not begin.startswith(f'<!-- {name}:begin'):
            raise ValueError(f'begin line of block {name!r} must start with '
                             f'"<!-- {name}:begin", got {begin!r}')
        self.begin = begin
        self.end = f'<!-- {name}:end -->'
        self.pattern: Pattern = re.compile(
            rf'(<!-- {re.escape(name)}:begin[^\n]*-->\n)(.*?)'
            rf'({re.escape(self.end)})', re.S)

    def content(self, text: str) -> Optional[str]:
        """What the block of ``text`` holds, None when it has none."""
        match = self.pattern.search(text)
        return None if match is None else match.group(2)

    def replace(self, text: str, content: str, where: str) -> str:
        """``text`` with its block holding ``content`` (and a newline).

        Raises:
            ValueError: ``text`` (from ``where``, named in the message) has
                no such block.
        """
        if not self.pattern.search(text):
            raise ValueError(f'{where}: no block between "{self.begin}" and '
                             f'"{self.end}"')
        return self.pattern.sub(lambda m: m.group(1) + content + '\n' +
                                m.group(3), text)
