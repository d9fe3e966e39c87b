"""Recognising an extension module's refusal to load in a subinterpreter.

Extension modules built without multi-interpreter support (numpy 2.5 is one)
raise ImportError when imported in an isolated subinterpreter.  `refusal`
finds that error anywhere in an exception chain and turns it into a
`SubinterpreterImportError` that names the module and the way out.
"""

from ..errors import SubinterpreterImportError

__all__ = ['refusal', 'refuses_subinterpreters', 'find_refusal', 'REFUSAL']

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
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SubinterpreterImportError):
            return exc
        if isinstance(exc, ImportError):
            match = find_refusal(str(exc))
            if match:
                extension = match.group(1)
                top = extension.partition('.')[0]
                detail = f'its extension module {extension} does not support subinterpreters'
                return SubinterpreterImportError(top, detail)
        exc = exc.__cause__ or exc.__context__
    return None
