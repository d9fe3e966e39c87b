"""Table rows, value formatting, and the markdown table the suite prints."""

from dataclasses import dataclass

from ._stats import percentile

__all__ = ['Row', 'fmt_time', 'fmt_latency', 'fmt_ratio', 'describe', 'ratios', 'render']

HEADER = ('figure', 'interpkernel (median)', 'anchors measured in the same run (median each)',
          'ratio(s)', 'goal', 'met?')


@dataclass
class Row:
    """One figure: interpkernel's value, its anchors, their ratios, and the goal."""
    figure: str
    value: str
    anchors: str
    ratios: str
    goal: str
    met: bool | None   # None: the goal could not be judged

    def cells(self):
        met = {True: 'yes', False: '**NO**', None: 'n/a'}[self.met]
        return (self.figure, self.value, self.anchors, self.ratios, self.goal, met)


def fmt_time(seconds):
    if seconds >= 1:
        return f'{seconds:.2f} s'
    if seconds >= 1e-3:
        return f'{seconds * 1e3:.1f} ms'
    return f'{seconds * 1e3:.3f} ms'


def fmt_latency(times):
    """p50 and p90 of a list of round-trip times."""
    return f'p50 {fmt_time(percentile(times, 50))} (p90 {fmt_time(percentile(times, 90))})'


def fmt_ratio(value):
    return f'{value:.2f}x' if value < 10 else f'{value:.0f}x'


def describe(label, outcome, fmt):
    """'label fmt(value)', or 'label: failed (reason)' for a failed Outcome."""
    if outcome.error is not None:
        return f'{label}: failed ({outcome.error})'
    return f'{label} {fmt(outcome.value)}'


def ratios(*entries):
    """'label 2.50x, ...' for (label, numerator, denominator) entries; an entry
    with a side missing (a failed measurement) is left out."""
    return ', '.join(f'{label} {fmt_ratio(numerator / denominator)}'
                     for label, numerator, denominator in entries
                     if numerator is not None and denominator is not None)


def render(rows):
    """The rows as a markdown table."""
    lines = [HEADER, ('---',) * len(HEADER)] + [row.cells() for row in rows]
    return '\n'.join('| ' + ' | '.join(str(c).replace('|', '\\|') for c in line) + ' |'
                     for line in lines)
