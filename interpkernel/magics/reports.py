"""What ``%interp status`` shows, and the text tables it shares with the timeline."""

import html

__all__ = ['StatusTable', 'text_table']


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
        return '\n\n'.join(text_table(h, rows) for h, rows in self._tables())

    def _repr_html_(self):
        return ''.join(_html_table(h, rows) for h, rows in self._tables())


def _strings(rows):
    return [tuple('' if value is None else str(value) for value in row) for row in rows]


def text_table(headers, rows):
    """`rows` under `headers`, each column as wide as its widest value."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ['  '.join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ['  '.join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return '\n'.join(lines)


def _html_table(headers, rows):
    head = ''.join(f'<th>{h}</th>' for h in headers)
    body = ''.join('<tr>' + ''.join(f'<td>{html.escape(v)}</td>' for v in row) + '</tr>'
                   for row in rows)
    return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
