"""``%interp timeline``: when each cell waited and ran, one lane per worker.

Notebooks get an SVG Gantt chart, inline in HTML so that hovering a bar shows
the cell's first line, where it ran and what it waited for (and as plain SVG
for frontends without HTML); terminals get an aligned table with a bar column.
Both draw busy time to scale and cut idle gaps out (drawn as breaks), and list
the cells aborted before they ran instead of drawing them.
"""

import html
import math
import time
from typing import NamedTuple

from .reports import text_table

__all__ = ['TimelineCell', 'Timeline']

_ENDED = frozenset({'done', 'failed', 'interrupted', 'aborted', 'cancelled'})
_COLOURS = {'done': '#4c9a2a', 'failed': '#c0392b', 'interrupted': '#e67e22',
            'running': '#2e86de'}
_WAIT_COLOUR, _ARROW_COLOUR, _BAND_COLOUR = '#9aa5b1', '#5d6d7e', '#f3f5f7'
_WIDTH, _ROW, _BAR, _BREAK, _TICK_PX = 760, 18, 12, 16, 70
_CHAR_PX = 6.5            # the width of a character at font-size 11, roughly
_TEXT_BAR = 32            # characters of the text form's bar column


class TimelineCell(NamedTuple):
    """One cell as the timeline shows it; times from ``time.perf_counter()``.

    ``state`` is 'waiting' (or 'queued'), 'running', 'done', 'failed',
    'interrupted', 'aborted' or 'cancelled'; ``waited_for`` holds
    ``'In[n] (why)'`` strings.
    """
    label: str
    state: str
    where: str | None
    queued: float
    started: float | None
    finished: float | None
    waited_for: tuple = ()
    note: str = ''
    first_line: str = ''

    @property
    def ran(self):
        """Did the cell start (else it waits, or was aborted or cancelled before it ran)?"""
        return self.started is not None and self.state not in ('aborted', 'cancelled')

    def end(self, now):
        """When it stopped taking time: its end, or `now` while it waits or runs."""
        if self.finished is not None:
            return self.finished
        return (self.started or self.queued) if self.state in _ENDED else now


def last_run(cells, gap, now):
    """The cells queued since the last idle gap of `gap` seconds or more."""
    cells = sorted(cells, key=lambda c: c.queued)
    first, busy_until = 0, -math.inf
    for index, cell in enumerate(cells):
        if cell.queued - busy_until >= gap:
            first = index
        busy_until = max(busy_until, cell.end(now))
    return cells[first:]


class Timeline:
    """A Gantt chart of cells: a lane per worker, a row per cell where bars would overlap.

    A thin grey line is the time a cell waited (for its inputs or a free
    worker), the bar the time it ran, coloured by how it ended; a vertical
    arrow from the end of a cell it waited for marks when that input was ready.

    Args:
        cells: `TimelineCell` records.
        scope: what the cells are, for the caption ("the last run" ...).
        now: the current ``time.perf_counter()``, for cells still waiting or running.
    """

    def __init__(self, cells, scope, now=None):
        self.now = time.perf_counter() if now is None else now
        self.cells = sorted(cells, key=lambda c: c.queued)
        self.scope = scope
        self.drawn = [c for c in self.cells if c.ran or c.state not in _ENDED]
        self.not_run = [c for c in self.cells if c not in self.drawn]

    def caption(self):
        lines = [f'{self.cells[0].label} … {self.cells[-1].label}: {self.scope}'
                 if self.cells else f'no cells: {self.scope}']
        if self.not_run:
            lines.append('not run (aborted or cancelled before they started): '
                         + ', '.join(c.label for c in self.not_run))
        return lines

    def lanes(self):
        """Lane name -> its cells: anonymous workers, ranks, named ones, the host, waiting."""
        lanes = {}
        for cell in sorted(self.drawn, key=lambda c: (c.started or self.now, c.queued)):
            lanes.setdefault(cell.where if cell.ran and cell.where else 'waiting', []).append(cell)
        return dict(sorted(lanes.items(), key=lambda item: _lane_order(item[0])))

    def _axis(self, x0, width, break_width):
        return _Axis([(c.queued, c.end(self.now)) for c in self.drawn], x0, width, break_width)

    # -- SVG --

    def _repr_html_(self):
        # Inline, so that hovering shows the tooltips (JupyterLab draws SVG output as an image).
        return f'<div style="overflow-x: auto">{self._repr_svg_()}</div>'

    def _repr_svg_(self):
        """The chart, for frontends that show SVG but not HTML, and for files."""
        lanes = self.lanes()
        left = min(130, 12 + _CHAR_PX * max([len(name) for name in lanes] + [4]))
        axis = self._axis(left, _WIDTH - left - 24, _BREAK)
        top = 8 + 16 * len(self.caption())
        rows, y, bands = {}, top, []    # rows: id(cell) -> its row's y
        for name, cells in lanes.items():
            packed = _pack(cells, lambda c: _extent(c, axis, self.now))
            bands.append((name, y, len(packed)))
            for index, row in enumerate(packed):
                for cell in row:
                    rows[id(cell)] = y + index * _ROW
            y += len(packed) * _ROW + 4
        bottom = y
        marker = f'interp-arrow-{id(self):x}'   # ids are page-wide where the SVG is inline
        legend, height = self._svg_legend(axis, bottom + 38, marker)
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" '
                 f'height="{height}" font-family="sans-serif" font-size="11">',
                 f'<defs><marker id="{marker}" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" '
                 f'markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" '
                 f'fill="{_ARROW_COLOUR}"/></marker></defs>']
        for index, line in enumerate(self.caption()):
            colour = '#222' if index == 0 else '#777'
            parts.append(f'<text x="6" y="{16 + 16 * index}" fill="{colour}">'
                         f'{html.escape(line)}</text>')
        for index, (name, y0, count) in enumerate(bands):
            if index % 2 == 0:
                parts.append(f'<rect x="0" y="{y0 - 2}" width="{_WIDTH}" '
                             f'height="{count * _ROW + 4}" fill="{_BAND_COLOUR}"/>')
            shown = html.escape(name) if len(name) <= 16 else \
                f'{html.escape(name[:15])}…<title>{html.escape(name)}</title>'
            parts.append(f'<text x="6" y="{y0 + 12}" fill="#444">{shown}</text>')
        parts += self._svg_axis(axis, top - 4, bottom)
        for cell in self.drawn:
            parts.append(self._svg_cell(cell, axis, rows[id(cell)]))
        parts += self._svg_arrows(axis, rows, marker)
        parts += legend
        parts.append('</svg>')
        return ''.join(parts)

    def _svg_axis(self, axis, top, bottom):
        parts = [f'<line x1="{axis.x0}" y1="{bottom}" x2="{axis.x1:.1f}" y2="{bottom}" '
                 'stroke="#888"/>']
        for x, text in axis.ticks(_TICK_PX):
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom + 4}" '
                         f'stroke="#ddd"/><text x="{x:.1f}" y="{bottom + 16}" fill="#555" '
                         f'text-anchor="middle">{text}</text>')
        for x, seconds in axis.breaks():
            parts.append(f'<g><title>{seconds:.1f} s idle, cut out</title>'
                         f'<rect x="{x:.1f}" y="{top}" width="{_BREAK}" height="{bottom - top + 6}"'
                         f' fill="white"/><path d="M{x + 4:.1f},{top} l0,{bottom - top + 6} '
                         f'M{x + _BREAK - 4:.1f},{top} l0,{bottom - top + 6}" stroke="#bbb" '
                         f'stroke-dasharray="3 3"/></g>')
        return parts

    def _svg_cell(self, cell, axis, y):
        queued = axis.x(cell.queued)
        started, ended = _bar(cell, axis, self.now)
        middle = y + _ROW / 2
        parts = [f'<g><title>{html.escape(_tooltip(cell, axis.t0, self.now))}</title>']
        if started - queued >= 1:
            parts.append(f'<line x1="{queued:.1f}" y1="{middle}" x2="{started:.1f}" y2="{middle}"'
                         f' stroke="{_WAIT_COLOUR}" stroke-width="2"/>')
        if cell.ran:
            parts.append(f'<rect x="{started:.1f}" y="{y + 3}" width="{ended - started:.1f}" '
                         f'height="{_BAR}" rx="2" fill="{_COLOURS.get(cell.state, "#888")}"/>')
        x, anchor, inside = _label_at(cell, axis, self.now)
        style = 'fill="white"' if inside else \
            'fill="#333" stroke="white" stroke-width="3" paint-order="stroke"'
        parts.append(f'<text x="{x:.1f}" y="{y + 13}" text-anchor="{anchor}" {style}>'
                     f'{html.escape(cell.label)}</text></g>')
        return ''.join(parts)

    def _svg_arrows(self, axis, rows, marker):
        """A line down (or up) from each cell a waiting cell waited for, when it ended."""
        ends = {c.label: c for c in self.drawn if c.ran}
        parts = []
        for cell in self.drawn:
            for waited in cell.waited_for:
                before = ends.get(waited.partition(' (')[0])
                if before is None or not cell.queued < before.end(self.now) <= \
                        (cell.started or self.now):
                    continue    # it had that input before it was queued
                x = axis.x(before.end(self.now))
                y1, y2 = rows[id(before)] + _ROW / 2, rows[id(cell)] + _ROW / 2
                y2 += -2 if y2 > y1 else 2
                parts.append(f'<line x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y2}" '
                             f'stroke="{_ARROW_COLOUR}" stroke-width="1" opacity="0.8" '
                             f'marker-end="url(#{marker})"><title>{html.escape(cell.label)} waited '
                             f'for {html.escape(waited)}</title></line>')
        return parts

    def _svg_legend(self, axis, y, marker):
        """The legend's SVG elements, in as many lines as it takes, and the y below them."""
        items = [(f'<rect x="{{x}}" y="{{y9}}" width="14" height="10" rx="2" '
                  f'fill="{colour}"/>', state) for state, colour in _COLOURS.items()
                 if any(c.state == state and c.ran for c in self.drawn)]
        items.append((f'<line x1="{{x}}" y1="{{y4}}" x2="{{x14}}" y2="{{y4}}" '
                      f'stroke="{_WAIT_COLOUR}" stroke-width="2"/>',
                      'waiting (for inputs or a free worker)'))
        if any(c.waited_for for c in self.drawn):
            items.append((f'<path d="M{{x7}},{{y12}} l0,11" stroke="{_ARROW_COLOUR}" '
                          f'marker-end="url(#{marker})"/>', 'an input it waited for is ready'))
        if axis.breaks():
            items.append(('<path d="M{x},{y10} l0,12 M{x8},{y10} l0,12" stroke="#bbb" '
                          'stroke-dasharray="3 3"/>', 'idle time cut out'))
        parts, x = [], 6
        for shape, text in items:
            width = 30 + _text_px(text)
            if x > 6 and x + width > _WIDTH:
                x, y = 6, y + 18
            parts.append(shape.format(x=x, x7=x + 7, x8=x + 8, x14=x + 14, y4=y - 4, y9=y - 9,
                                      y10=y - 10, y12=y - 12)
                         + f'<text x="{x + 18}" y="{y}">{text}</text>')
            x += width
        return parts, y + 10

    # -- text --

    def __repr__(self):
        axis = self._axis(0, _TEXT_BAR, 1)
        headers = ('cell', 'state', 'on', 'queued', 'waited', 'ran', _text_scale(axis),
                   'waited for')
        rows = []
        for cell in self.drawn:
            started = cell.started if cell.ran else self.now
            rows.append((cell.label, cell.state, cell.where if cell.ran else '',
                         f'+{cell.queued - axis.t0:.2f} s', f'{started - cell.queued:.2f} s',
                         f'{cell.end(self.now) - started:.2f} s' if cell.ran else '',
                         _text_bar(cell, axis, self.now), ', '.join(cell.waited_for)))
        if not any(cell.waited_for for cell in self.drawn):
            headers, rows = headers[:-1], [row[:-1] for row in rows]
        return '\n'.join(self.caption() + ['', text_table(headers, rows)])


class _Axis:
    """Times to x positions: busy stretches to scale, long idle gaps as fixed-width breaks.

    An idle gap (no cell waiting or running) longer than a tenth of the busy
    time is cut out, so that bars keep their width.
    """

    def __init__(self, spans, x0, width, break_width):
        busy = sum(end - start for start, end in _merge(spans, 0)) or 1e-3
        self.segments = _merge(spans, busy / 10) or [(0.0, 1e-3)]
        self.t0 = self.segments[0][0]
        self.x0 = x0
        cuts = (len(self.segments) - 1) * break_width
        length = sum(end - start for start, end in self.segments) or 1e-3
        self.scale = max(width - cuts, 1) / length
        self.starts, x = [], x0
        for start, end in self.segments:
            self.starts.append(x)
            x += (end - start) * self.scale + break_width
        self.x1 = x - break_width

    def x(self, t):
        for (start, end), x in zip(self.segments, self.starts):
            if t <= end:
                return x + max(t - start, 0) * self.scale
        return self.x1

    def breaks(self):
        """(x, idle seconds) of each break."""
        return [(x + (end - start) * self.scale, after[0] - end)
                for (start, end), x, after in zip(self.segments, self.starts, self.segments[1:])]

    def ticks(self, spacing):
        """(x, label) of time ticks at least `spacing` apart, relative to the first cell."""
        step = _nice_step(spacing / self.scale)
        digits = max(0, -math.floor(math.log10(step)))
        ticks = []
        for index, ((start, end), x) in enumerate(zip(self.segments, self.starts)):
            if index:   # after a break: say where the time axis resumes
                ticks = [tick for tick in ticks if x - tick[0] >= spacing * 0.8]
                ticks.append((x, f'{start - self.t0:.{digits}f} s'))
            first = math.ceil((start - self.t0) / step - 1e-9)
            for k in range(first, math.floor((end - self.t0) / step + 1e-9) + 1):
                tx = x + (k * step + self.t0 - start) * self.scale
                if not ticks or tx - ticks[-1][0] >= spacing * 0.8:
                    ticks.append((tx, f'{k * step:.{digits}f} s'))
        return ticks


def _merge(spans, gap):
    """Sorted (start, end) stretches covering `spans`, joining those less than `gap` apart."""
    merged = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _nice_step(at_least):
    """The smallest 1, 2 or 5 times a power of ten that is `at_least`."""
    power = 10 ** math.floor(math.log10(max(at_least, 1e-6)))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= at_least)


def _lane_order(name):
    if name.startswith('#') and name[1:].isdigit():
        return (0, int(name[1:]), '')
    if name == 'waiting':
        return (4, 0, '')
    if name == 'host':
        return (3, 0, '')
    stem = name.rstrip('0123456789')
    return (1 if stem == 'rank' else 2, int(name[len(stem):] or 0), stem)


def _bar(cell, axis, now):
    """The x where a cell's bar starts and ends (both where it would start if it has not)."""
    started = axis.x(cell.started if cell.ran else now)
    return started, max(axis.x(cell.end(now)), started + 2) if cell.ran else started


def _label_at(cell, axis, now):
    """(x, text-anchor, inside the bar?): in the bar if it fits, else after it, else before."""
    started, ended = _bar(cell, axis, now)
    width = _text_px(cell.label) + 6
    if ended - started >= width:
        return started + 3, 'start', True
    if ended + width <= axis.x1 + 12:
        return ended + 3, 'start', False
    return started - 3, 'end', False


def _extent(cell, axis, now):
    """The x span a cell's drawing takes: its wait, its bar and its label."""
    started, ended = _bar(cell, axis, now)
    x, anchor, _ = _label_at(cell, axis, now)
    label = _text_px(cell.label)
    return (min(axis.x(cell.queued), x - label if anchor == 'end' else x),
            max(ended, x + label if anchor == 'start' else x))


def _pack(cells, extent):
    """Rows of cells whose extents do not overlap, each cell in the first row it fits."""
    rows, ends = [], []
    for cell in cells:
        start, end = extent(cell)
        for index, row_end in enumerate(ends):
            if start >= row_end + 4:
                rows[index].append(cell)
                ends[index] = end
                break
        else:
            rows.append([cell])
            ends.append(end)
    return rows


def _tooltip(cell, t0, now):
    lines = [f'{cell.label}: {cell.state}' + (f' on {cell.where}' if cell.ran else '')]
    started = cell.started if cell.ran else now
    timing = f'queued at {cell.queued - t0:.2f} s, waited {started - cell.queued:.2f} s'
    if cell.ran:
        timing += f', ran {cell.end(now) - started:.2f} s'
    lines.append(timing)
    if cell.waited_for:
        lines.append('waited for ' + ', '.join(cell.waited_for))
    if cell.note:
        lines.append(cell.note)
    if cell.first_line:
        lines.append(cell.first_line)
    return '\n'.join(lines)


def _text_px(text):
    return len(text) * _CHAR_PX


def _text_scale(axis):
    """The bar column's header: the time its left and right edges stand for."""
    end = axis.segments[-1][1] - axis.t0
    return f'0 s{f"{end:.2f} s":>{_TEXT_BAR - 3}}'


def _text_bar(cell, axis, now):
    """The cell as characters: '·' while it waited, '█' while it ran, '┊' at breaks."""
    chars = [' '] * _TEXT_BAR
    for x, _ in axis.breaks():
        chars[min(int(x), _TEXT_BAR - 1)] = '┊'
    started = cell.started if cell.ran else now
    first, middle = int(axis.x(cell.queued)), int(axis.x(started))
    last = max(int(math.ceil(axis.x(cell.end(now)))), middle + 1) if cell.ran else middle
    for index in range(first, min(last, _TEXT_BAR)):
        chars[index] = '█' if index >= middle and cell.ran else '·'
    return ''.join(chars)
