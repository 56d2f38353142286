"""The AWS CLI v1's ``--output table`` renderer, re-implemented so that our tables match its bytes.

Mirrors ``awscli/table.py`` (MultiTable, Section, the stylers) without importing awscli: importing it swaps botocore for
an older vendored copy. Sections wider than the terminal (80 columns when stdout is not one) turn vertical.
"""

from __future__ import annotations

import struct
import sys
import unicodedata
from typing import Protocol, TextIO

# colorama's codes, spelled out: Style.BRIGHT, Fore.BLUE, Style.DIM, Fore.YELLOW, Style.RESET_ALL.
_BRIGHT, _BLUE, _DIM, _YELLOW, RESET_ALL = "\x1b[1m", "\x1b[34m", "\x1b[2m", "\x1b[33m", "\x1b[0m"
DEFAULT_WIDTH = 80


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def text_length(text: object) -> int:
    """Columns taken by ``text``: East Asian wide, full-width and ambiguous characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WFA" else 1 for char in str(text))


def terminal_width(stream: TextIO | None = None, default: int = DEFAULT_WIDTH) -> int:
    """The width of the terminal behind stdout, or ``default`` when stdout is not a terminal."""
    try:
        from fcntl import ioctl
        from termios import TIOCGWINSZ
    except ImportError:  # pragma: no cover - Windows
        return default
    try:
        _, width = struct.unpack("hhhh", ioctl(stream or sys.stdout, TIOCGWINSZ, b"\000" * 8))[0:2]
    except (OSError, ValueError, TypeError):
        return default
    return int(width)


def center_text(
    text: str, length: int, left_edge: str = "|", right_edge: str = "|", length_of_text: int | None = None
) -> str:
    if length_of_text is None:
        length_of_text = text_length(text)
    char_start = (length // 2) - (length_of_text // 2) - 1
    start = left_edge + " " * char_start + text
    so_far = text_length(left_edge) + char_start + length_of_text
    return start + " " * (length - text_length(right_edge) - so_far) + right_edge


def align_left(
    text: str, length: int, left_edge: str = "|", right_edge: str = "|", length_of_text: int | None = None
) -> str:
    if length_of_text is None:
        length_of_text = text_length(text)
    padding = 2 if length - (length_of_text + 2 + text_length(left_edge) + text_length(right_edge)) >= 0 else 0
    so_far = len(left_edge) + padding + length_of_text
    return left_edge + " " * padding + text + " " * (length - so_far - len(right_edge)) + right_edge


class Styler:
    def style_title(self, text: str) -> str:
        return text

    def style_header_column(self, text: str) -> str:
        return text

    def style_row_element(self, text: str) -> str:
        return text

    def style_indentation_char(self, text: str) -> str:
        return text


class ColorizedStyler(Styler):
    def style_row_element(self, text: str) -> str:
        return _BRIGHT + _BLUE + text + RESET_ALL

    def style_indentation_char(self, text: str) -> str:
        return _DIM + _YELLOW + text + RESET_ALL


class AutoResetStream:
    """What ``colorama.init(autoreset=True, strip=False)`` does to stdout: a reset code after every write."""

    def __init__(self, stream: Writable) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.write(RESET_ALL)


class _IndentedStream:
    def __init__(self, stream: Writable, indent_level: int, left: str, right: str) -> None:
        self._stream = stream
        self._indent_level = indent_level
        self._left = left
        self._right = right

    def write(self, text: str) -> None:
        self._stream.write(self._left * self._indent_level)
        if text.endswith("\n"):
            self._stream.write(text[:-1])
            self._stream.write(self._right * self._indent_level)
            self._stream.write("\n")
        else:
            self._stream.write(text)


class Section:
    def __init__(self) -> None:
        self.title = ""
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.indent_level = 0
        self._num_cols: int | None = None
        self._max_widths: list[int] = []

    def calculate_column_widths(self, padding: int = 0, max_width: int | None = None) -> list[int]:
        """Column widths scaled to fill ``max_width`` exactly, rounding errors spread like the AWS CLI does."""
        unscaled = [width + padding for width in self._max_widths]
        if max_width is None or not unscaled:
            return unscaled
        scale = max_width / float(sum(unscaled))
        scaled = [round(scale * width) for width in unscaled]
        off_by = sum(scaled) - max_width
        while off_by != 0:
            order: range | list[int] = range(len(scaled))
            if off_by < 0:
                order = list(reversed(order))
            for index in order:
                if off_by > 0:
                    scaled[index] -= 1
                    off_by -= 1
                else:
                    scaled[index] += 1
                    off_by += 1
                if off_by == 0:
                    break
        return scaled

    def total_width(self, padding: int = 0, with_border: bool = False, outer_padding: int = 0) -> int:
        border = 2
        total = sum(width + padding for width in self.calculate_column_widths())
        if with_border:
            total += border
        total += 2 * outer_padding
        return max(text_length(self.title) + border + 2 * outer_padding, total)

    def add_header(self, headers: list[str]) -> None:
        self._update_max_widths(headers)
        if self._num_cols is None:
            self._num_cols = len(headers)
        self.headers = headers

    def add_row(self, row: list[object]) -> None:
        if self._num_cols is None:
            self._num_cols = len(row)
        if len(row) != self._num_cols:
            raise ValueError(f"Row should have {self._num_cols} elements, instead it has {len(row)}")
        cells = [str(cell) for cell in row]
        self.rows.append(cells)
        self._update_max_widths(cells)

    def _update_max_widths(self, row: list[str]) -> None:
        if not self._max_widths:
            self._max_widths = [text_length(cell) for cell in row]
        else:
            for index, cell in enumerate(row):
                self._max_widths[index] = max(text_length(cell), self._max_widths[index])


def _convert_to_vertical(sections: list[Section]) -> None:
    """Single-row sections become two columns (header, value), as the AWS CLI does for tables wider than the screen."""
    for index, section in enumerate(sections):
        if len(section.rows) == 1 and section.headers:
            vertical = Section()
            vertical.title = section.title
            vertical.indent_level = section.indent_level
            for header, element in zip(section.headers, section.rows[0], strict=False):
                vertical.add_row([header, element])
            sections[index] = vertical


class MultiTable:
    def __init__(self, styler: Styler, width: int = DEFAULT_WIDTH, column_separator: str = "|") -> None:
        self._styler = styler
        self._terminal_width = width
        self._column_separator = column_separator
        self._sections: list[Section] = []
        self._current = Section()

    def new_section(self, title: str, indent_level: int = 0) -> None:
        self._current = Section()
        self._sections.append(self._current)
        self._current.title = title
        self._current.indent_level = indent_level

    def add_row_header(self, headers: list[str]) -> None:
        self._current.add_header(headers)

    def add_row(self, row: list[object]) -> None:
        self._current.add_row(row)

    def render(self, stream: Writable) -> None:
        max_width = self._max_width()
        if max_width > self._terminal_width:
            _convert_to_vertical(self._sections)
            max_width = self._max_width()
        stream.write("-" * max_width + "\n")
        for section in self._sections:
            self._render_section(section, max_width, stream)

    def _max_width(self) -> int:
        return max(s.total_width(padding=4, with_border=True, outer_padding=s.indent_level) for s in self._sections)

    def _render_section(self, section: Section, max_width: int, stream: Writable) -> None:
        indent = self._styler.style_indentation_char("|")
        indented = _IndentedStream(stream, section.indent_level, indent, indent)
        max_width -= section.indent_level * 2
        self._render_title(section, max_width, indented)
        self._render_column_titles(section, max_width, indented)
        self._render_rows(section, max_width, indented)

    def _render_title(self, section: Section, max_width: int, stream: Writable) -> None:
        if section.title:
            title = self._styler.style_title(section.title)
            stream.write(center_text(title, max_width, "|", "|", text_length(section.title)) + "\n")
            if not section.headers and not section.rows:
                stream.write("+{}+".format("-" * (max_width - 2)) + "\n")

    def _render_column_titles(self, section: Section, max_width: int, stream: Writable) -> None:
        if not section.headers:
            return
        widths = section.calculate_column_widths(padding=4, max_width=max_width)
        line = ""
        for position, (width, header) in enumerate(zip(widths, section.headers, strict=False)):
            styled = self._styler.style_header_column(header)
            line += center_text(styled, width, "|" if position == 0 else "", "|", text_length(header))
        self._write_line_break(stream, widths)
        stream.write(line + "\n")

    @staticmethod
    def _write_line_break(stream: Writable, widths: list[int]) -> None:
        parts = [
            ("+{}+".format("-" * (w - 2)) if i == 0 else "{}+".format("-" * (w - 1))) for i, w in enumerate(widths)
        ]
        stream.write("".join(parts) + "\n")

    def _render_rows(self, section: Section, max_width: int, stream: Writable) -> None:
        if not section.rows:
            return
        widths = section.calculate_column_widths(padding=4, max_width=max_width)
        if not widths:
            return
        self._write_line_break(stream, widths)
        for row in section.rows:
            line = ""
            for position, (width, element) in enumerate(zip(widths, row, strict=False)):
                styled = self._styler.style_row_element(element)
                line += align_left(
                    styled, width, "|" if position == 0 else "", self._column_separator, text_length(element)
                )
            stream.write(line + "\n")
        self._write_line_break(stream, widths)
