"""Recognising an extension module's refusal to load in a subinterpreter.

Extension modules built without multi-interpreter support (numpy 2.5 is one)
raise ImportError when imported in an isolated subinterpreter.  `refusal`
finds that error anywhere in an exception chain and turns it into a
`SubinterpreterImportError` that names the module and the way out.
"""

from ..errors import SubinterpreterImportError

__all__ = ['refusal', 'refusal_words', 'refuses_subinterpreters', 'find_refusal', 'REFUSAL']

REFUSAL = r'module ([\w.]+) does not support loading in subinterpreters'


def find_refusal(text):
    """The regex match of a refusal message in `text`, or None."""
    import re  # on first need: workers boot faster without it
    return re.search(REFUSAL, text)


def refuses_subinterpreters(reason):
    """True if a `probe_import` reason says the module refuses subinterpreters."""
    return reason is not None and find_refusal(reason) is not None


def refusal(exc):
    """Return a SubinterpreterImportError if `exc` (or its chain) is a refusal, else None."""
    for link in _chain(exc):
        if isinstance(link, SubinterpreterImportError):
            return link
        if isinstance(link, ImportError):
            match = find_refusal(str(link))
            if match:
                extension = match.group(1)
                top = extension.partition('.')[0]
                detail = f'its extension module {extension} does not support subinterpreters'
                return SubinterpreterImportError(top, detail)
    return None


def refusal_words(exc):
    """CPython's words for the refusal in `exc`'s chain (as a probe reports it, so
    that `refuses_subinterpreters` knows it), or None."""
    for link in _chain(exc):
        match = find_refusal(str(link)) if isinstance(link, ImportError) else None
        if match:
            return match.group(0)
    return None


def _chain(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
