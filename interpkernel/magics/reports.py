"""What ``%interp status`` and ``%interp timeline`` show."""

import html
import time

__all__ = ['StatusTable', 'Timeline']


class StatusTable:
    """The workers' states (and, in the interp kernel, its cells' dataflow):
    text tables, and HTML ones in notebooks."""

    HEADERS = ('worker', 'state', 'cell', 'elapsed', 'cells run')
    CELL_HEADERS = ('cell', 'state', 'ran on', 'waited for', 'note')

    def __init__(self, rows, cells=()):
        self.rows = _strings(rows)
        self.cells = _strings(cells)

    @classmethod
    def from_workers(cls, statuses, extra_rows=(), cells=()):
        rows = [(s.name, s.state, s.cell, None if s.elapsed is None else f'{s.elapsed:.1f} s',
                 s.cells_run) for s in statuses]
        return cls(rows + list(extra_rows), cells)

    def _tables(self):
        yield self.HEADERS, self.rows
        if self.cells:
            yield self.CELL_HEADERS, self.cells

    def __repr__(self):
        return '\n\n'.join(_text_table(h, rows) for h, rows in self._tables())

    def _repr_html_(self):
        return ''.join(_html_table(h, rows) for h, rows in self._tables())


def _strings(rows):
    return [tuple('' if value is None else str(value) for value in row) for row in rows]


def _text_table(headers, rows):
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ['  '.join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ['  '.join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return '\n'.join(lines)


def _html_table(headers, rows):
    head = ''.join(f'<th>{h}</th>' for h in headers)
    body = ''.join('<tr>' + ''.join(f'<td>{html.escape(v)}</td>' for v in row) + '</tr>'
                   for row in rows)
    return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_COLOURS = {'done': '#4c9a2a', 'failed': '#c0392b', 'interrupted': '#e67e22',
            'running': '#2e86de', 'cancelled': '#999999'}
_LANE, _BAR, _LEFT, _WIDTH = 28, 18, 90, 640


class Timeline:
    """An SVG Gantt chart of recent cells: one lane per worker, a bar per cell.

    The pale part of a bar is the time the cell waited (queued, or for a free
    worker); the solid part is the time it ran, coloured by how it ended.

    Args:
        cells: (label, state, worker, queued, started, finished) per cell,
            times from ``time.perf_counter()`` (started/finished may be None).
    """

    def __init__(self, cells, now=None):
        self.cells = list(cells)
        self.now = time.perf_counter() if now is None else now

    def lanes(self):
        lanes = []
        for cell in self.cells:
            worker = cell[2] or 'queued'
            if worker not in lanes:
                lanes.append(worker)
        return lanes

    def _repr_svg_(self):
        lanes = self.lanes()
        start = min(c[3] for c in self.cells)
        end = max(max(c[5] or self.now, c[4] or self.now) for c in self.cells)
        scale = (_WIDTH - _LEFT - 10) / max(end - start, 1e-6)
        height = _LANE * len(lanes) + 30
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
                 f'font-family="sans-serif" font-size="11">']
        for index, lane in enumerate(lanes):
            y = index * _LANE + 5
            parts.append(f'<text x="4" y="{y + 13}">{html.escape(lane)}</text>')
            parts.append(f'<line x1="{_LEFT}" y1="{y + _BAR + 3}" x2="{_WIDTH - 10}" '
                         f'y2="{y + _BAR + 3}" stroke="#ddd"/>')
        for label, state, worker, queued, started, finished in self.cells:
            y = lanes.index(worker or 'queued') * _LANE + 5
            x0 = _LEFT + (queued - start) * scale
            x1 = _LEFT + ((started or self.now) - start) * scale
            x2 = _LEFT + ((finished or self.now) - start) * scale
            colour = _COLOURS.get(state, '#2e86de')
            title = html.escape(f'{label} on {worker}: {state}')
            parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0):.1f}" '
                         f'height="{_BAR}" fill="{colour}" opacity="0.25"><title>{title}</title></rect>')
            if started is not None:
                parts.append(f'<rect x="{x1:.1f}" y="{y}" width="{max(x2 - x1, 1):.1f}" '
                             f'height="{_BAR}" fill="{colour}"><title>{title}</title></rect>')
                parts.append(f'<text x="{x1 + 3:.1f}" y="{y + 13}" fill="white">'
                             f'{html.escape(label)}</text>')
        span = end - start
        parts.append(f'<text x="{_LEFT}" y="{height - 6}">0 s</text>')
        parts.append(f'<text x="{_WIDTH - 60}" y="{height - 6}">{span:.2f} s</text>')
        parts.append('</svg>')
        return ''.join(parts)

    def __repr__(self):
        if not self.cells:
            return 'no cells yet'
        start = min(c[3] for c in self.cells)
        lines = []
        for label, state, worker, queued, started, finished in self.cells:
            ran = '' if started is None else f' ran {((finished or self.now) - started):.3f} s'
            waited = f'waited {((started or self.now) - queued):.3f} s'
            lines.append(f'{label:>10} on {worker or "-":<10} +{queued - start:.3f} s  '
                         f'{waited}{ran}  {state}')
        return '\n'.join(lines)
