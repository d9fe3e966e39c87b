"""What calls into Python's builtins and standard library do besides computing a result.

The dataflow needs to know, for a call it cannot see into, which of its
arguments the call may change in place, and which process or interpreter
state it reads or writes (``random``'s generator, ``decimal``'s context,
``warnings``' filters ...).  This module is that knowledge, as tables:

- `function_effect(module, qualname)`: a module-level function, a class, or a
  builtin (module ``'builtins'``);
- `method_effect(type_module, type_qualname, method)`: a method of a builtin
  or standard-library type, on a receiver whose type is known at run time;
- `attribute_state(module, attribute)`: module attributes that *are* state
  (``sys.path``, ``os.environ``): changing them writes that state;
- `type_state(type_module, type_qualname)`: values whose use touches state
  (arithmetic on a ``decimal.Decimal`` uses the decimal context);
- `STATES`: every kind of state, and how to copy it from one interpreter to
  another.

Anything not in the tables is unknown, and the caller must assume the worst
(`UNKNOWN`): it may change every argument, and the outside world.

Two things the tables leave to the caller, because they depend on the
arguments' run-time types rather than on the function:

- Iterating over an argument counts as reading it, but an *iterator* argument
  is consumed: ``sorted(it)``, ``sum(it)``, ``list(it)`` and ``L.extend(it)``
  advance ``it``, and advancing a generator (or a ``map``) runs its code.  A
  call given an iterator changes it, and does what its ``__next__`` does
  (``method_effect(..., '__next__')``).
- The arguments' own special methods (``__eq__``, ``__hash__``, ``__len__``,
  ``__iter__`` ...) are assumed to only compute.  The one exception the
  standard library has, ``defaultdict`` inserting the keys it is asked for, is
  recorded on the functions whose job is a lookup (``operator.getitem``,
  ``str.format_map``, ``string.Template.substitute``).
"""

import builtins
from dataclasses import dataclass, replace

__all__ = ['Effect', 'StateKind', 'PURE', 'UNKNOWN', 'RECEIVER', 'ALL_ARGUMENTS', 'STATES',
           'function_effect', 'method_effect', 'attribute_state', 'caches_on_read', 'type_state',
           'makes_unmovable', 'needs_shell']

RECEIVER = 'self'        # in `Effect.mutates`: the object a method is called on
ALL_ARGUMENTS = '*'      # in `Effect.mutates`: every argument (and the receiver)


@dataclass(frozen=True)
class Effect:
    """What one call may do besides returning its result.

    Attributes:
        mutates: which arguments the call may change in place: 0-based
            positions (int; for a method, counting the arguments after the
            receiver), keyword names (str), `RECEIVER` for the object a method
            is called on, or `ALL_ARGUMENTS`.  An argument that may be passed
            either way is listed both ways (``json.dump``: ``{1, 'fp'}``).
        reads_state: names of `STATES` the call reads.
        writes_state: names of `STATES` the call changes.  A call that changes
            only part of a state (``warnings.filterwarnings`` adds one filter)
            reads it too: its result depends on what was there before.
        result_shares: the result may share mutable objects with the
            arguments or the receiver (``iter(x)``, ``sorted(x)``'s items,
            ``max(x)``, ``d.get(k)``): changing it later may change them.
        result_state: the result is a live handle on this state (changing
            ``decimal.getcontext()`` changes the decimal context).
        calls_arguments: the call calls what it is given (``map``,
            ``sorted(key=f)``, ``functools.reduce``), now or lazily as its
            result is used: the effects of those callables count too.
        host_only: why such a call can only run in the host interpreter
            (``input()`` needs the frontend), or None.
        runs_methods: special methods of its arguments, and of what they hold,
            that the call runs if their classes define them (``copy.deepcopy``
            runs ``__deepcopy__``, pickling ``__reduce_ex__`` and ``__getstate__``).
    """
    mutates: frozenset = frozenset()
    reads_state: frozenset = frozenset()
    writes_state: frozenset = frozenset()
    result_shares: bool = False
    result_state: str | None = None
    calls_arguments: bool = False
    host_only: str | None = None
    runs_methods: tuple = ()


PURE = Effect()
UNKNOWN = Effect(mutates=frozenset({ALL_ARGUMENTS}), writes_state=frozenset({'files'}),
                 result_shares=True, calls_arguments=True)


@dataclass(frozen=True)
class StateKind:
    """State that lives outside any variable.

    Attributes:
        name: the key in `STATES` (``'random'``).
        description: how a user would name it, for messages
            ("random's global generator").
        imports: modules `capture` and `restore` need; the state belongs to
            them (changing such a module may change the state).
        capture: an expression giving a picklable copy of the state in the
            interpreter it runs in, or None if the state cannot be copied.
            Two captures of equal states compare equal.
        restore: statements that make an interpreter's state equal to the
            value bound to ``state``, or None.
        every_cell_reads: any code may read it without naming it (any code
            may warn, or recurse): every cell counts as reading it.
        process_wide: one per process (working directory, files), shared by
            every interpreter: it never needs copying, only ordering.
    """
    name: str
    description: str
    imports: tuple = ()
    capture: str | None = None
    restore: str | None = None
    every_cell_reads: bool = False
    process_wide: bool = False


# The decimal state is the current context and the template new contexts copy
# (``decimal.DefaultContext``), each as plain values: contexts do not compare.
_DECIMAL_CAPTURE = (
    '[(c.prec, c.rounding, c.Emin, c.Emax, c.capitals, c.clamp,'
    ' [s.__name__ for s in c.flags if c.flags[s]], [s.__name__ for s in c.traps if c.traps[s]])'
    ' for c in (decimal.getcontext(), decimal.DefaultContext)]')
_DECIMAL_RESTORE = '''\
for context, (prec, rounding, emin, emax, capitals, clamp, flags, traps) in zip(
        (decimal.getcontext(), decimal.DefaultContext), state):
    context.prec, context.rounding, context.Emin, context.Emax = prec, rounding, emin, emax
    context.capitals, context.clamp = capitals, clamp
    for signal in context.flags:
        context.flags[signal] = signal.__name__ in flags
        context.traps[signal] = signal.__name__ in traps
'''

# A warnings filter is (action, message, category, module, lineno); message and
# module are compiled regexes, None, or (the interpreter's defaults) plain
# strings matched exactly.  Captured as pattern text, a plain string becoming
# the regex that matches it exactly, they restore through filterwarnings.
_WARNINGS_CAPTURE = (
    '[(action, pattern(message), category, pattern(module), lineno)'
    " for pattern in [lambda field: field and (re.escape(field) + r'\\Z' if isinstance(field, str)"
    ' else field.pattern) or None]'
    ' for action, message, category, module, lineno in warnings.filters]')
_WARNINGS_RESTORE = '''\
warnings.resetwarnings()
for action, message, category, module, lineno in state:
    warnings.filterwarnings(action, message or '', category, module or '', lineno, append=True)
'''

# The generator's key array as a tuple, so that equal states compare equal.
_NUMPY_CAPTURE = ('((lambda s: (s[0], tuple(s[1].tolist()), *s[2:]))(numpy.random.get_state()),'
                  ' numpy.get_printoptions(), numpy.geterr())')
_NUMPY_RESTORE = '''\
generator, keys, *rest = state[0]
numpy.random.set_state((generator, numpy.array(keys, dtype=numpy.uint32), *rest))
numpy.set_printoptions(**state[1])
numpy.seterr(**state[2])
'''

_ENVIRON_RESTORE = '''\
for key in set(os.environ) - set(state):
    del os.environ[key]
os.environ.update(state)
'''

_GC_RESTORE = '''\
(gc.enable if state[0] else gc.disable)()
gc.set_threshold(*state[1])
gc.set_debug(state[2])
'''

STATES = {kind.name: kind for kind in [
    StateKind('random', "random's global generator", ('random',),
              'random.getstate()', 'random.setstate(state)'),
    StateKind('decimal', 'the decimal context', ('decimal',), _DECIMAL_CAPTURE, _DECIMAL_RESTORE),
    StateKind('warnings', 'the warnings filters', ('re', 'warnings'),
              _WARNINGS_CAPTURE, _WARNINGS_RESTORE, every_cell_reads=True),
    StateKind('sys.path', 'the import path (sys.path)', ('sys',),
              'list(sys.path)', 'sys.path[:] = state'),
    StateKind('sys.argv', 'the command-line arguments (sys.argv)', ('sys',),
              'list(sys.argv)', 'sys.argv[:] = state'),
    StateKind('recursionlimit', 'the recursion limit', ('sys',),
              'sys.getrecursionlimit()', 'sys.setrecursionlimit(state)', every_cell_reads=True),
    StateKind('int_max_str_digits', 'the limit on digits in int/str conversions', ('sys',),
              'sys.get_int_max_str_digits()', 'sys.set_int_max_str_digits(state)',
              every_cell_reads=True),
    StateKind('environ', 'the environment variables (os.environ)', ('os',),
              'dict(os.environ)', _ENVIRON_RESTORE),
    StateKind('gc', "the garbage collector's settings", ('gc',),
              '(gc.isenabled(), gc.get_threshold(), gc.get_debug())', _GC_RESTORE),
    StateKind('calendar', "calendar's first day of the week", ('calendar',),
              'calendar.firstweekday()', 'calendar.setfirstweekday(state)'),
    StateKind('logging', "logging's loggers, handlers and levels", ('logging',)),
    # Per process (a cluster engine, or the host): a cell running elsewhere gets
    # it copied in, as a seeded notebook on ipykernel would see it.
    StateKind('numpy', "numpy's legacy global random generator, print options and error "
              'handling', ('numpy',), _NUMPY_CAPTURE, _NUMPY_RESTORE),
    # The C library's locale is one per process; any code may format with it
    # (format(x, 'n'), time.strftime).
    StateKind('locale', 'the locale', ('locale',), every_cell_reads=True, process_wide=True),
    # The kernel's IPython shell, in the host: how results show
    # (``InteractiveShell.ast_node_interactivity``) is decided when a cell is placed.
    StateKind('ipython', "IPython's shell settings", every_cell_reads=True, process_wide=True),
    # What the user is asked (input(), getpass), and answers, in the order of the
    # notebook: every cell counts as reading it, so a prompt comes after the cells
    # before it have run, and the cells after it wait for the answer.
    StateKind('frontend', "the frontend's prompts", every_cell_reads=True, process_wide=True),
    StateKind('cwd', 'the working directory', process_wide=True),
    StateKind('files', 'files and the outside world', process_wide=True),
    # File descriptors 1 and 2, one per process: what a program a cell runs prints
    # there reaches the frontend through the host's capture of them.
    StateKind('output', "the process's standard output and error (file descriptors 1 and 2)",
              process_wide=True),
]}


def _effect(*mutates, reads='', writes='', **fields):
    """An `Effect` changing `mutates`, reading and writing the space-separated states named."""
    return Effect(frozenset(mutates), frozenset(reads.split()), frozenset(writes.split()), **fields)


def _each(effect, names):
    """{name: effect} for each of the space-separated `names`."""
    return dict.fromkeys(names.split(), effect)


_SHARES = Effect(result_shares=True)
# What pickling (and copying) an object calls on it, if its class defines them.
_PICKLING = ('__reduce_ex__', '__reduce__', '__getstate__', '__getnewargs_ex__',
             '__getnewargs__')
_CALLS = Effect(calls_arguments=True)


def _numpy_writes_out(position):
    """A numpy function that changes only what it is given as `out` (by name, or as
    argument `position`); its result may be a view of its arguments."""
    return Effect(mutates=frozenset({'out', position}), result_shares=True)


_NUMPY_STATE_READ = _effect(reads='numpy')
_NUMPY_STATE_WRITE = _effect(reads='numpy', writes='numpy')

# Modules whose functions are listed here only in part: one not listed may
# change state of the module's that no `StateKind` covers.
PARTLY_KNOWN = frozenset({'numpy'})
_CALLS_SHARES = Effect(result_shares=True, calls_arguments=True)
_FIRST_SHARES = _effect(0, result_shares=True)        # changes its first argument and returns it
_SELF = _effect(RECEIVER)
_SELF_SHARES = _effect(RECEIVER, result_shares=True)
_SELF_CALLS = _effect(RECEIVER, result_shares=True, calls_arguments=True)
# Relative paths are resolved against the working directory.
_READS_FILES = _effect(reads='files cwd')
_WRITES_FILES = _effect(reads='files cwd', writes='files')    # and open(), which may do either
_RUNS_PROGRAM = _effect(reads='files cwd environ', writes='files output')
_LOGS = _effect(reads='logging', writes='logging')
_READS_LOGGING = _effect(reads='logging')
# Decimal arithmetic rounds and traps by the context, and records its flags there.
_DECIMAL = _effect(reads='decimal', writes='decimal')
_READS_LOCALE = _effect(reads='locale')
_LOCAL_TIME = _effect(reads='environ')               # the TZ variable


# Names of methods, shared by several types.
_NUMBER = ('__abs__ __add__ __bool__ __eq__ __format__ __ge__ __gt__ __hash__ __le__ __lt__ '
           '__mul__ __ne__ __neg__ __pos__ __pow__ __radd__ __rmul__ __rpow__ __rsub__ '
           '__rtruediv__ __sub__ __truediv__')
_REAL = (_NUMBER + ' __ceil__ __divmod__ __float__ __floor__ __floordiv__ __int__ __mod__ '
         '__rdivmod__ __rfloordiv__ __rmod__ __round__ __trunc__')
_BYTES = ('capitalize center count decode endswith expandtabs find hex index isalnum isalpha '
          'isascii isdigit islower isspace istitle isupper join ljust lower lstrip partition '
          'removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip split '
          'splitlines startswith strip swapcase title translate upper zfill __mod__')
_COMPARISONS = '__eq__ __ge__ __gt__ __le__ __lt__ __ne__'

# Reading a sequence: the items come out shared.
_READ_SEQUENCE = {**_each(PURE, 'count index __contains__ __len__ ' + _COMPARISONS),
                  **_each(_SHARES, '__getitem__ __iter__')}
_CONCATENATE = _each(_SHARES, '__add__ __mul__ __rmul__')
# Changing a sequence in place (pop returns an item; += returns the sequence itself).
_CHANGE_SEQUENCE = {**_each(_SELF, 'append clear extend insert remove reverse '
                                   '__delitem__ __setitem__'),
                    **_each(_SELF_SHARES, 'pop __iadd__ __imul__')}

_SET_READERS = {**_each(PURE, 'isdisjoint issubset issuperset __contains__ __len__ '
                              + _COMPARISONS),
                **_each(_SHARES, 'copy difference intersection symmetric_difference union '
                                 '__and__ __iter__ __or__ __rand__ __ror__ __rsub__ __rxor__ '
                                 '__sub__ __xor__')}

_DICT = {**_each(PURE, '__contains__ __len__ __eq__ __ne__'),
         **_each(_SHARES, 'copy get items keys values __getitem__ __iter__ __or__ __reversed__ '
                          '__ror__'),
         **_each(_SELF, 'clear update __delitem__ __setitem__'),
         **_each(_SELF_SHARES, 'pop popitem setdefault __ior__')}


def _stream(reading='', writing='', into='', state=''):
    """Methods of a stream: those that read or move its position, those that read
    into their first argument, and those that write (``seek``, ``tell`` and
    ``close`` flush what was written).  With ``state='files'`` the stream is a
    file, and reading and writing go through to the file system."""
    return {**_each(PURE, 'fileno isatty readable seekable writable'),
            **_each(_SHARES, '__enter__ __iter__'),
            **_each(_effect(RECEIVER, reads=state), 'readline readlines __next__ ' + reading),
            **_each(_effect(RECEIVER, 0, reads=state), into),
            **_each(_effect(RECEIVER, reads=state, writes=state),
                    'close flush seek tell truncate writelines __exit__ ' + writing)}


# random.Random's methods; the module's functions are those of one hidden
# instance, whose state is the 'random' state.
_RANDOM = {**_each(_SELF, 'betavariate binomialvariate expovariate gammavariate gauss '
                          'getrandbits lognormvariate normalvariate paretovariate randbytes '
                          'randint random randrange seed setstate triangular uniform '
                          'vonmisesvariate weibullvariate'),
           **_each(_SELF_SHARES, 'choice choices sample'),
           'shuffle': _effect(RECEIVER, 0, 'x'),
           'getstate': PURE}


def _on_the_global_generator(effect):
    """`effect` of a Random method, as a function of the random module: it reads
    the global generator, and writes it where the method changes its receiver."""
    writes = {'random'} if RECEIVER in effect.mutates else set()
    return replace(effect, mutates=effect.mutates - {RECEIVER},
                   reads_state=effect.reads_state | {'random'},
                   writes_state=effect.writes_state | writes)


_FUNCTIONS = {
    'builtins': {
        # Computing from arguments they only read (iterators aside: see the module docstring);
        # compile only parses, dir only lists names.
        **_each(PURE, 'abs all any ascii bin bool bytearray bytes callable chr compile complex '
                      'dir divmod float format hasattr hash hex id int isinstance issubclass len '
                      'object oct ord pow range repr round slice str'),
        # Containers, views and wrappers holding the arguments' objects (getattr may run a
        # property)
        **_each(_SHARES, 'aiter classmethod dict enumerate frozenset getattr list memoryview '
                         'property reversed set staticmethod sum super tuple type zip'),
        # ... and those that call the functions they are given (key=, map's function), some lazily
        **_each(_CALLS_SHARES, 'filter iter map max min sorted'),
        # Advancing an iterator changes it
        **_each(_FIRST_SHARES, 'anext next'),
        **_each(_effect(0), 'delattr setattr'),
        'print': _effect('file'),
        'open': _WRITES_FILES,
        'input': _effect(writes='frontend', host_only="input(), which reads the frontend's stdin "
                                                      '(only the host interpreter can reach it)'),
        'help': _effect(writes='frontend',
                        host_only='help(), which pages through the frontend and may read '
                                  'its stdin'),
        'breakpoint': replace(UNKNOWN, writes_state=frozenset({'frontend'}),
                              host_only='breakpoint(), which starts a debugger that talks to the '
                                        'frontend'),
        # Code that runs, or hands out namespaces: the analysis makes these barriers
        **_each(UNKNOWN, '__import__ eval exec globals locals vars'),
        # Exceptions keep their arguments
        **{name: _SHARES for name, value in vars(builtins).items()
           if isinstance(value, type) and issubclass(value, BaseException)},
        # Class and static methods
        **_each(PURE, 'bytearray.fromhex bytearray.maketrans bytes.fromhex bytes.maketrans '
                      'float.fromhex int.from_bytes str.maketrans'),
        'dict.fromkeys': _SHARES,
    },
    # math, cmath: numbers in, numbers out
    'math': _each(PURE, 'acos acosh asin asinh atan atan2 atanh cbrt ceil comb copysign cos cosh '
                        'degrees dist erf erfc exp exp2 expm1 fabs factorial floor fma fmod frexp '
                        'fsum gamma gcd hypot isclose isfinite isinf isnan isqrt lcm ldexp lgamma '
                        'log log10 log1p log2 modf nextafter perm pow prod radians remainder sin '
                        'sinh sqrt sumprod tan tanh trunc ulp'),
    'cmath': _each(PURE, 'acos acosh asin asinh atan atanh cos cosh exp isclose isfinite isinf '
                         'isnan log log10 phase polar rect sin sinh sqrt tan tanh'),
    'operator': {
        # The operators: comparisons and arithmetic compute; + * | & - ^ on containers share items
        **_each(PURE, 'abs contains countOf eq floordiv ge gt index indexOf inv invert is_ is_not '
                      'le length_hint lshift lt mod ne neg not_ pos pow rshift truediv truth'),
        **_each(_SHARES, 'add and_ concat matmul mul or_ sub xor'),
        # Callables keeping the names or arguments they are given
        **_each(_SHARES, 'attrgetter itemgetter methodcaller'),
        # A defaultdict inserts the key looked up; item assignment and the augmented
        # assignments change their first argument
        **_each(_FIRST_SHARES, 'delitem getitem iadd iand iconcat ifloordiv ilshift imatmul imod '
                               'imul ior ipow irshift isub itruediv ixor setitem'),
        'call': _CALLS_SHARES,
    },
    'itertools': {
        # Lazy iterators over their arguments' items
        **_each(_SHARES, 'batched chain chain.from_iterable combinations '
                         'combinations_with_replacement compress count cycle islice pairwise '
                         'permutations product repeat tee zip_longest'),
        # ... calling the functions they are given as they go
        **_each(_CALLS_SHARES, 'accumulate dropwhile filterfalse groupby starmap takewhile'),
    },
    'functools': {
        'reduce': _CALLS_SHARES,
        # Wrappers keeping the function they are given (lru_cache's and cache's keep results too)
        **_each(_SHARES, 'cache cached_property cmp_to_key lru_cache partial partialmethod '
                         'singledispatch singledispatchmethod wraps'),
        # These set attributes on the function or class they are given
        'update_wrapper': _effect(0, 'wrapper', result_shares=True),
        'total_ordering': _effect(0, 'cls', result_shares=True),
    },
    'getpass': {
        'getpass': _effect(writes='frontend',
                           host_only="getpass(), which reads the frontend's stdin "
                                     '(only the host interpreter can reach it)'),
        'getuser': _effect(reads='environ'),
    },
    'heapq': {
        # The heap functions reorder the list they are given (and return one of its items)
        **_each(_FIRST_SHARES, 'heapify heappop heappush heappushpop heapreplace'),
        # These only read theirs, calling key=
        **_each(_CALLS_SHARES, 'merge nlargest nsmallest'),
    },
    'bisect': {
        # Searching calls key=; insort inserts into the list it is given
        **_each(_CALLS, 'bisect bisect_left bisect_right'),
        **_each(_effect(0, 'a', calls_arguments=True), 'insort insort_left insort_right'),
    },
    'copy': {
        # A shallow copy holds the original's items; deepcopy records what it copied in memo=.
        # Both copy an object through the hooks its class defines (the copy's __setstate__).
        'copy': Effect(result_shares=True, runs_methods=('__copy__', '__setstate__') + _PICKLING),
        'replace': Effect(result_shares=True, runs_methods=('__replace__',)),
        'deepcopy': _effect(1, 'memo',
                            runs_methods=('__deepcopy__', '__setstate__') + _PICKLING),
    },
    # collections: containers of their arguments' items (a ChainMap writes to its first mapping)
    'collections': _each(_SHARES, 'ChainMap Counter OrderedDict OrderedDict.fromkeys UserDict '
                                  'UserList UserString defaultdict deque namedtuple'),
    'statistics': {
        # Computed from data they only read ...
        **_each(PURE, 'NormalDist NormalDist.from_samples correlation covariance fmean '
                      'geometric_mean harmonic_mean linear_regression mean pstdev pvariance '
                      'quantiles stdev variance'),
        # ... or returning items of the data (a median of an odd count), or keeping it
        # (kde_random draws from a generator of its own)
        **_each(_SHARES, 'kde kde_random median median_grouped median_high median_low mode '
                         'multimode'),
    },
    'fractions': _each(PURE, 'Fraction Fraction.from_decimal Fraction.from_float'),
    'decimal': {
        # The context is per-thread state, which decimal arithmetic uses and records flags in;
        # getcontext() hands out the live context, setcontext replaces it (and DefaultContext
        # is the template new contexts copy)
        'getcontext': _effect(reads='decimal', result_state='decimal'),
        'setcontext': _DECIMAL,
        'localcontext': _effect(reads='decimal'),
        'Context': _effect(reads='decimal'),
        **_each(_DECIMAL, 'Decimal Decimal.from_float'),
    },
    'random': {
        **{name: _on_the_global_generator(effect) for name, effect in _RANDOM.items()},
        # Generators of one's own
        **_each(PURE, 'Random SystemRandom'),
    },
    'string': _each(PURE, 'Formatter Template capwords'),
    'textwrap': {**_each(PURE, 'TextWrapper dedent fill shorten wrap'),
                 'indent': _CALLS},             # predicate=
    're': {
        # Patterns and matches are values; sub's replacement may be a function
        **_each(PURE, 'compile escape findall finditer fullmatch match purge search split'),
        **_each(_CALLS, 'sub subn'),
    },
    'json': {
        # default= and object_hook= are called; dump and load move through the file they are given
        **_each(_CALLS, 'dumps loads'),
        **_each(_SHARES, 'JSONDecoder JSONEncoder'),
        'detect_encoding': PURE,
        'dump': _effect(1, 'fp', writes='files', calls_arguments=True),
        'load': _effect(0, 'fp', reads='files', calls_arguments=True),
    },
    'pickle': {
        # Unpickling imports the modules that the data names; dump and load move through the
        # file. Pickling runs the hooks of the objects' classes.
        'dumps': Effect(runs_methods=_PICKLING),
        'loads': _effect(reads='sys.path'),
        'dump': _effect(1, 'file', writes='files', runs_methods=_PICKLING),
        'load': _effect(0, 'file', reads='files sys.path'),
        **_each(_SHARES, 'Pickler Unpickler'),
    },
    # csv: readers and writers keep the file they are given (dialect registration is unknown)
    'csv': {**_each(_SHARES, 'DictReader DictWriter reader writer'), 'Sniffer': PURE},
    'time': {
        # Reading a clock, or sleeping, is not state
        **_each(PURE, 'asctime clock_getres clock_gettime clock_gettime_ns get_clock_info gmtime '
                      'monotonic monotonic_ns perf_counter perf_counter_ns process_time '
                      'process_time_ns sleep struct_time thread_time thread_time_ns time time_ns'),
        # Local time depends on the TZ variable, names of days and months on the locale
        **_each(_LOCAL_TIME, 'ctime localtime mktime'),
        **_each(_effect(reads='environ locale'), 'strftime strptime'),
    },
    'datetime': {
        # Values; the class methods that read the clock in local time depend on TZ
        **_each(PURE, 'date datetime time timedelta timezone date.fromisocalendar '
                      'date.fromisoformat date.fromordinal datetime.combine '
                      'datetime.fromisocalendar datetime.fromisoformat datetime.fromordinal '
                      'time.fromisoformat'),
        **_each(_LOCAL_TIME, 'date.fromtimestamp date.today datetime.fromtimestamp datetime.now '
                             'datetime.today'),
        'datetime.strptime': _READS_LOCALE,
    },
    'calendar': {
        # The module-level calendar has one first weekday, which setfirstweekday changes
        'setfirstweekday': _effect(writes='calendar'),
        **_each(_effect(reads='calendar'), 'calendar firstweekday month monthcalendar prcal '
                                           'prmonth prweek week weekheader'),
        **_each(PURE, 'Calendar HTMLCalendar TextCalendar format formatstring isleap leapdays '
                      'monthrange timegm weekday'),
    },
    'pprint': {
        # pp and pprint print to stdout, or write to stream=
        **_each(PURE, 'isreadable isrecursive pformat saferepr'),
        **_each(_effect(1, 'stream'), 'pp pprint'),
        'PrettyPrinter': _SHARES,
    },
    'dataclasses': {
        # dataclass adds methods to the class it is given; asdict and astuple copy deeply
        'dataclass': _FIRST_SHARES,
        **_each(_CALLS, 'asdict astuple'),
        **_each(_SHARES, 'field fields make_dataclass replace'),
        'is_dataclass': PURE,
    },
    # enum: classes (calling one looks a member up) and decorators that check a class
    'enum': {**_each(PURE, 'Enum Flag IntEnum IntFlag StrEnum auto'),
             **_each(_SHARES, 'member nonmember unique verify')},
    'typing': {
        **_each(PURE, 'NamedTuple NewType ParamSpec TypeVar TypeVarTuple TypedDict assert_never '
                      'get_protocol_members is_protocol is_typeddict'),
        # These return their argument, or parts of the types they are given
        **_each(_SHARES, 'assert_type cast get_args get_origin get_type_hints reveal_type'),
        # These set an attribute on the function or class they are given
        'final': _effect(0, 'f', result_shares=True),
        'no_type_check': _effect(0, 'arg', result_shares=True),
        'override': _FIRST_SHARES,
        'runtime_checkable': _effect(0, 'cls', result_shares=True),
    },
    'abc': {
        # abstractmethod marks the function it is given; update_abstractmethods the class
        'abstractmethod': _effect(0, 'funcobj', result_shares=True),
        'update_abstractmethods': _effect(0, 'cls', result_shares=True),
        'ABCMeta': _SHARES,
        'get_cache_token': PURE,
    },
    'array': _each(PURE, 'ArrayType array'),
    'struct': {
        **_each(PURE, 'Struct calcsize pack unpack'),
        **_each(_SHARES, 'iter_unpack unpack_from'),
        'pack_into': _effect(1),                # writes into the buffer it is given
    },
    'hashlib': {
        **_each(PURE, 'blake2b blake2s md5 new pbkdf2_hmac scrypt sha1 sha224 sha256 sha384 '
                      'sha3_224 sha3_256 sha3_384 sha3_512 sha512 shake_128 shake_256'),
        'file_digest': _effect(0, reads='files'),
    },
    'base64': {
        **_each(PURE, 'a85decode a85encode b16decode b16encode b32decode b32encode '
                      'b32hexdecode b32hexencode b64decode b64encode b85decode b85encode '
                      'decodebytes encodebytes standard_b64decode standard_b64encode '
                      'urlsafe_b64decode urlsafe_b64encode z85decode z85encode'),
        # encode and decode read one file and write another
        **_each(_effect(0, 1, 'input', 'output', reads='files', writes='files'), 'decode encode'),
    },
    'binascii': _each(PURE, 'a2b_base64 a2b_hex a2b_qp a2b_uu b2a_base64 b2a_hex b2a_qp b2a_uu '
                            'crc32 crc_hqx hexlify unhexlify'),
    'zlib': _each(PURE, 'adler32 compress compressobj crc32 decompress decompressobj'),
    'unicodedata': _each(PURE, 'bidirectional category combining decimal decomposition digit '
                               'east_asian_width is_normalized lookup mirrored name normalize '
                               'numeric'),
    # uuid, secrets: randomness from the operating system is not the random state
    'uuid': _each(PURE, 'UUID getnode uuid1 uuid3 uuid4 uuid5'),
    'secrets': {**_each(PURE, 'SystemRandom randbelow randbits token_bytes token_hex '
                              'token_urlsafe'),
                'choice': _SHARES},
    'warnings': {
        # Whether and how a warning shows depends on the filters, which these add to
        'warn': _effect(reads='warnings'),
        'warn_explicit': _effect(5, 'registry', reads='warnings'),
        'showwarning': _effect(4, 'file'),
        'formatwarning': PURE,
        'deprecated': PURE,
        **_each(_effect(reads='warnings', writes='warnings'),
                'catch_warnings filterwarnings simplefilter'),
        'resetwarnings': _effect(writes='warnings'),
    },
    'sys': {
        **_each(PURE, 'getdefaultencoding getfilesystemencodeerrors getfilesystemencoding '
                      'getrefcount getsizeof intern'),
        'getrecursionlimit': _effect(reads='recursionlimit'),
        'setrecursionlimit': _effect(writes='recursionlimit'),
        'get_int_max_str_digits': _effect(reads='int_max_str_digits'),
        'set_int_max_str_digits': _effect(writes='int_max_str_digits'),
        'exit': UNKNOWN,
    },
    'os': {
        'getcwd': _effect(reads='cwd'), 'getcwdb': _effect(reads='cwd'),
        'chdir': _effect(reads='cwd files', writes='cwd'),
        # Looking at files, changing them, and file descriptors
        **_each(_READS_FILES, 'access listdir lstat readlink scandir stat'),
        'walk': _effect(reads='files cwd', calls_arguments=True),       # onerror=
        **_each(_WRITES_FILES, 'chmod close link makedirs mkdir open read remove removedirs rename '
                               'renames replace rmdir symlink truncate unlink utime'),
        'write': _effect(reads='files cwd', writes='files output'),    # os.write(1, ...)
        **_each(_RUNS_PROGRAM, 'system popen execl execle execlp execlpe execv execve execvp '
                               'execvpe posix_spawn posix_spawnp spawnl spawnle spawnlp spawnlpe '
                               'spawnv spawnve spawnvp spawnvpe'),
        # Environment variables
        **_each(_effect(reads='environ'), 'get_exec_path getenv'),
        **_each(_effect(reads='environ', writes='environ'), 'putenv unsetenv'),
        **_each(PURE, 'cpu_count fsdecode fsencode fspath get_terminal_size getpid urandom'),
    },
    'os.path': {
        # Path arithmetic on strings ...
        **_each(PURE, 'basename commonpath commonprefix dirname isabs join normcase normpath split '
                      'splitdrive splitext splitroot'),
        # ... against the working directory or the environment, or looking at files
        **_each(_effect(reads='cwd'), 'abspath relpath'),
        **_each(_effect(reads='environ'), 'expanduser expandvars'),
        **_each(_READS_FILES, 'exists getatime getctime getmtime getsize isdevdrive isdir isfile '
                              'isjunction islink ismount lexists realpath samefile'),
    },
    'shutil': {
        # Copying, moving and deleting files (make_archive may change directory as it works)
        **_each(_WRITES_FILES, 'chown copy copy2 copyfile copymode copystat move unpack_archive'),
        **_each(replace(_WRITES_FILES, calls_arguments=True), 'copytree rmtree'),
        'make_archive': _effect(reads='files cwd', writes='files cwd'),
        'copyfileobj': _effect(0, 1, 'fsrc', 'fdst', reads='files', writes='files'),
        'disk_usage': _READS_FILES,
        'which': _effect(reads='files cwd environ'),
        'get_terminal_size': _effect(reads='environ'),
        'ignore_patterns': PURE,
    },
    # subprocess: a program can do anything to files
    # (getoutput and getstatusoutput take both of the program's outputs)
    'subprocess': {**_each(_RUNS_PROGRAM, 'Popen call check_call check_output run'),
                   **_each(replace(_RUNS_PROGRAM, writes_state=frozenset({'files'})),
                           'getoutput getstatusoutput'),
                   'list2cmdline': PURE, 'CompletedProcess': _SHARES},
    'glob': {**_each(_READS_FILES, 'glob iglob'), **_each(PURE, 'escape has_magic translate')},
    'logging': {
        # Loggers, handlers and levels are one registry, which these change or log through
        **_each(_LOGS, 'addLevelName basicConfig critical debug disable error exception fatal '
                       'getLogger info log setLogRecordFactory setLoggerClass shutdown warning'),
        'captureWarnings': _effect(reads='logging warnings', writes='logging warnings'),
        **_each(_READS_LOGGING, 'getHandlerByName getHandlerNames getLevelName '
                                'getLevelNamesMapping getLogRecordFactory getLoggerClass '
                                'makeLogRecord'),
        'Formatter': PURE,
    },
    'locale': {
        'setlocale': _effect(reads='locale', writes='locale'),
        **_each(_READS_LOCALE, 'atof atoi currency delocalize format_string getencoding getlocale '
                               'getpreferredencoding localeconv localize nl_langinfo str strcoll '
                               'strxfrm'),
        'normalize': PURE,
    },
    'gc': {
        # collect frees only what nothing refers to; get_objects and get_referrers hand out
        # anything, namespaces included
        **_each(PURE, 'collect get_count get_freeze_count get_stats is_finalized is_tracked'),
        **_each(_effect(reads='gc'), 'get_debug get_threshold isenabled'),
        **_each(_effect(reads='gc', writes='gc'), 'disable enable set_debug set_threshold'),
        'get_referents': _SHARES,
        **_each(UNKNOWN, 'get_objects get_referrers'),
    },
    'timeit': {
        # timeit, repeat and Timer run source code that may import from __main__
        # (`_SEARCH_MAIN`).
        'default_timer': PURE,
    },
    'inspect': {
        # Looking at objects (the source of a function comes from its file)
        **_each(PURE, 'cleandoc formatannotation getcoroutinestate getdoc getfile '
                      'getgeneratorstate getmodulename isabstract isasyncgen isasyncgenfunction '
                      'isawaitable isbuiltin isclass iscode iscoroutine iscoroutinefunction '
                      'isdatadescriptor isframe isfunction isgenerator isgeneratorfunction '
                      'isgetsetdescriptor ismemberdescriptor ismethod ismethoddescriptor '
                      'ismethodwrapper ismodule isroutine istraceback'),
        **_each(_SHARES, 'get_annotations getattr_static getcallargs getclosurevars getfullargspec '
                         'getmembers getmembers_static getmodule getmro signature unwrap'),
        **_each(_READS_FILES, 'findsource getcomments getsource getsourcefile getsourcelines'),
        'markcoroutinefunction': _effect(0, 'func', result_shares=True),
    },
    'dis': {
        # These print a disassembly, to stdout or to file=
        **_each(_effect('file'), 'dis disassemble disco distb show_code'),
        **_each(PURE, 'Bytecode code_info findlabels findlinestarts get_instructions'),
    },
    'io': {
        'open': _WRITES_FILES, 'FileIO': _WRITES_FILES, 'open_code': _READS_FILES,
        **_each(PURE, 'BytesIO StringIO text_encoding'),
        # Wrappers over the stream they are given
        **_each(_SHARES, 'BufferedRWPair BufferedRandom BufferedReader BufferedWriter '
                         'TextIOWrapper'),
    },
    'pathlib': {
        **_each(PURE, 'Path Path.from_uri PosixPath PurePath PurePosixPath PureWindowsPath '
                      'WindowsPath'),
        'Path.cwd': _effect(reads='cwd'),
        'Path.home': _effect(reads='environ'),
    },
    # numpy: the everyday functions, which change no state of numpy's and only
    # what `out=` names; their results may be views of their arguments.  Any
    # other numpy function is unknown (it may change numpy's state).
    'numpy': {
        # `out` by name, or at its place among the arguments
        **_each(_numpy_writes_out(1),
                'abs absolute arccos arcsin arctan ceil cos cosh deg2rad exp exp2 expm1 floor '
                'isfinite isinf isnan log log10 log1p log2 logical_not negative rad2deg '
                'reciprocal rint sign sin sinh sqrt square tan tanh trunc'),
        **_each(_numpy_writes_out(2),
                'add all amax amin any arctan2 argmax argmin around concatenate divide dot equal '
                'floor_divide greater greater_equal hypot less less_equal logical_and logical_or '
                'logical_xor matmul max maximum min minimum mod multiply nanmax nanmin not_equal '
                'outer power ptp remainder round stack subtract true_divide'),
        **_each(_numpy_writes_out(3),
                'clip cumprod cumsum mean nanmean nansum prod std sum take var'),
        'trace': _numpy_writes_out(5),
        'einsum': Effect(mutates=frozenset({'out'}), result_shares=True),
        # overwrite_input=True lets them sort their input in place
        'median': Effect(mutates=frozenset({'out', 2, 0, 'a'}), result_shares=True),
        **_each(Effect(mutates=frozenset({'out', 3, 0, 'a'}), result_shares=True),
                'percentile quantile'),
        **_each(_SHARES,
                'allclose append arange argsort array array_equal array_split asarray atleast_1d '
                'atleast_2d average bincount broadcast_to column_stack convolve copy corrcoef '
                'count_nonzero cov cross diag diagonal diff digitize dstack empty empty_like '
                'expand_dims eye flatnonzero flip fliplr flipud full full_like gradient histogram '
                'histogram2d hstack identity inner interp intersect1d isclose isin kron linspace '
                'logspace meshgrid moveaxis nonzero ones ones_like polyfit polyval ravel repeat '
                'reshape roll rot90 searchsorted setdiff1d sort split squeeze swapaxes tile '
                'transpose tril triu union1d unique vstack where zeros zeros_like bool_ int8 '
                'int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 complex64 '
                'complex128 dtype ndarray'),
        **_each(_CALLS, 'apply_along_axis fromfunction frompyfunc piecewise vectorize'),
        **_each(_NUMPY_STATE_READ, 'get_printoptions geterr'),
        **_each(_NUMPY_STATE_WRITE, 'printoptions set_printoptions errstate seterr'),
    },
    'numpy.linalg': _each(_SHARES, 'cholesky cond det eig eigh eigvals eigvalsh inv '
                                        'lstsq matrix_power matrix_rank norm pinv qr slogdet '
                                        'solve svd'),
    'numpy.fft': _each(_SHARES, 'fft fft2 fftfreq fftn fftshift ifft ifft2 ifftn ifftshift '
                                     'irfft rfft rfftfreq'),
    'numpy.random': {
        # Generators of one's own
        **_each(PURE, 'default_rng Generator PCG64 Philox SFC64 MT19937 SeedSequence '
                      'RandomState'),
        # The legacy functions draw from (or reseed) the global generator
        **_each(_NUMPY_STATE_WRITE,
                'beta binomial bytes chisquare choice dirichlet exponential f gamma geometric '
                'get_bit_generator gumbel hypergeometric laplace logistic lognormal logseries '
                'multinomial multivariate_normal negative_binomial noncentral_chisquare '
                'noncentral_f normal pareto permutation poisson power rand randint randn random '
                'random_integers random_sample ranf rayleigh sample seed set_bit_generator '
                'set_state standard_cauchy standard_exponential standard_gamma standard_normal '
                'standard_t triangular uniform vonmises wald weibull zipf'),
        'shuffle': _effect(0, 'x', reads='numpy', writes='numpy'),
        'get_state': _NUMPY_STATE_READ,
    },
}


_PURE_PATH = {
    **_each(PURE, 'as_posix as_uri full_match is_absolute is_relative_to is_reserved joinpath '
                  'match relative_to with_name with_segments with_stem with_suffix __fspath__ '
                  '__hash__ __rtruediv__ __str__ __truediv__ ' + _COMPARISONS),
    # Properties, looked up like methods
    **_each(PURE, 'anchor drive name parent parents parts root stem suffix suffixes'),
}
_PATH = {
    **_PURE_PATH,
    **_each(_READS_FILES, 'absolute exists glob group is_block_device is_char_device is_dir '
                          'is_fifo is_file is_junction is_mount is_socket is_symlink iterdir lstat '
                          'owner read_bytes read_text readlink resolve rglob samefile stat walk'),
    'expanduser': _effect(reads='environ'),
    **_each(_WRITES_FILES, 'chmod hardlink_to lchmod mkdir rename replace rmdir symlink_to touch '
                           'unlink write_bytes write_text'),
    'open': _WRITES_FILES,
}

_DATE = {**_each(PURE, 'ctime isocalendar isoformat isoweekday replace timetuple toordinal '
                       'weekday __add__ __hash__ __radd__ __rsub__ __str__ __sub__ '
                       + _COMPARISONS),
         # Names of days and months come from the locale
         **_each(_READS_LOCALE, 'strftime __format__')}

_LOGGER_EMITS = 'critical debug error exception info log warning'

# Iterators: advancing one changes it; some call a function as they go, and a
# generator runs its own code.
_ITERATOR = {'__next__': _SELF_SHARES, '__iter__': _SHARES}

_NDARRAY = {
    # `out` by name, or at its place among the arguments after the array
    **_each(_numpy_writes_out(1), 'all any argmax argmin dot max min round'),
    **_each(_numpy_writes_out(2), 'clip cumprod cumsum mean prod std sum take var'),
    'trace': _numpy_writes_out(4),
    **_each(_SHARES, 'argsort astype copy diagonal flatten nonzero ravel repeat reshape '
                     'searchsorted squeeze swapaxes tobytes tolist transpose view __abs__ '
                     '__add__ __and__ __contains__ __eq__ __floordiv__ __ge__ __getitem__ __gt__ '
                     '__invert__ __iter__ __le__ __len__ __lt__ __matmul__ __mod__ __mul__ '
                     '__ne__ __neg__ __or__ __pos__ __pow__ __radd__ __rmul__ __rsub__ '
                     '__rtruediv__ __sub__ __truediv__ __xor__'),
    **_each(_effect(RECEIVER), 'fill partition put resize setflags sort __setitem__ '
                               '__iadd__ __isub__ __imul__ __itruediv__ __ifloordiv__ __imod__ '
                               '__ipow__ __imatmul__ __iand__ __ior__ __ixor__'),
}
_CALLING_ITERATOR = {'__next__': _SELF_CALLS, '__iter__': _SHARES}
_GENERATOR = {**_CALLING_ITERATOR, **_each(_SELF_CALLS, 'close send throw')}

_METHODS = {
    # Builtin containers
    ('builtins', 'list'): {**_READ_SEQUENCE, **_CONCATENATE, **_CHANGE_SEQUENCE,
                           **_each(_SHARES, 'copy __reversed__'),
                           'sort': _effect(RECEIVER, calls_arguments=True)},     # key=
    ('builtins', 'tuple'): {**_READ_SEQUENCE, **_CONCATENATE, '__hash__': PURE},
    ('builtins', 'range'): {**_READ_SEQUENCE, **_each(PURE, '__hash__ __reversed__')},
    ('builtins', 'dict'): _DICT,
    ('builtins', 'set'): {**_SET_READERS,
                          **_each(_SELF, 'add clear difference_update discard intersection_update '
                                         'remove symmetric_difference_update update'),
                          **_each(_SELF_SHARES, 'pop __iand__ __ior__ __isub__ __ixor__')},
    ('builtins', 'frozenset'): {**_SET_READERS, '__hash__': PURE},
    # Strings and bytes are values; format_map looks keys up in its argument (a defaultdict
    # inserts them)
    ('builtins', 'str'): {**_READ_SEQUENCE, **_CONCATENATE,
                          **_each(PURE, 'capitalize casefold center encode endswith expandtabs '
                                        'find format index isalnum isalpha isascii isdecimal '
                                        'isdigit isidentifier islower isnumeric isprintable '
                                        'isspace istitle isupper join ljust lower lstrip '
                                        'partition removeprefix removesuffix replace rfind '
                                        'rindex rjust rpartition rsplit rstrip split splitlines '
                                        'startswith strip swapcase title translate upper zfill '
                                        '__format__ __hash__ __mod__ __str__'),
                          'format_map': _effect(0)},
    ('builtins', 'bytes'): {**_READ_SEQUENCE, **_CONCATENATE, **_each(PURE, _BYTES + ' __hash__')},
    ('builtins', 'bytearray'): {**_READ_SEQUENCE, **_CONCATENATE, **_each(PURE, _BYTES + ' copy'),
                                **_CHANGE_SEQUENCE},
    ('builtins', 'memoryview'): {**_each(PURE, 'hex tobytes tolist __len__ __eq__'),
                                 **_each(_SHARES, 'cast toreadonly __enter__ __getitem__'),
                                 **_each(_SELF, 'release __exit__ __setitem__')},
    # Numbers are values
    ('builtins', 'int'): _each(PURE, _REAL + ' as_integer_ratio bit_count bit_length conjugate '
                                            'is_integer to_bytes __and__ __index__ __invert__ '
                                            '__lshift__ __or__ __rshift__ __xor__'),
    ('builtins', 'bool'): _each(PURE, _REAL + ' __and__ __index__ __or__ __xor__'),
    ('builtins', 'float'): _each(PURE, _REAL + ' as_integer_ratio conjugate hex is_integer'),
    ('builtins', 'complex'): _each(PURE, _NUMBER + ' conjugate __complex__'),
    # Iterators, and the generators and coroutines that run code as they are advanced
    **{('builtins', name): _ITERATOR
       for name in ['bytes_iterator', 'dict_itemiterator', 'dict_keyiterator', 'dict_valueiterator',
                    'enumerate', 'list_iterator', 'list_reverseiterator', 'range_iterator',
                    'reversed', 'set_iterator', 'str_ascii_iterator', 'str_iterator',
                    'tuple_iterator', 'zip']},
    **{('builtins', name): _CALLING_ITERATOR for name in ['callable_iterator', 'filter', 'map']},
    ('builtins', 'generator'): _GENERATOR,
    ('builtins', 'coroutine'): _each(_SELF_CALLS, 'close send throw'),
    ('builtins', 'async_generator'): {**_each(_SELF_CALLS, 'aclose asend athrow __anext__'),
                                      '__aiter__': _SHARES},
    **{('itertools', name): _ITERATOR
       for name in ['_tee', 'batched', 'chain', 'combinations', 'combinations_with_replacement',
                    'compress', 'count', 'cycle', 'islice', 'pairwise', 'permutations', 'product',
                    'repeat', 'zip_longest']},
    **{('itertools', name): _CALLING_ITERATOR
       for name in ['_grouper', 'accumulate', 'dropwhile', 'filterfalse', 'groupby', 'starmap',
                    'takewhile']},
    # collections: a Counter counts a missing key as 0, a defaultdict inserts it (calling its
    # factory)
    ('collections', 'deque'): {**_READ_SEQUENCE, **_CONCATENATE, **_CHANGE_SEQUENCE,
                               **_each(_SHARES, 'copy __copy__ __reversed__'),
                               **_each(_SELF, 'appendleft extendleft rotate'),
                               'popleft': _SELF_SHARES},
    ('collections', 'Counter'): {**_DICT, **_each(_SELF, 'subtract update'),
                                 **_each(_SHARES, 'elements most_common __add__ __and__ __neg__ '
                                                  '__pos__ __sub__'),
                                 **_each(PURE, 'total __missing__'),
                                 **_each(_SELF_SHARES, '__iadd__ __iand__ __isub__')},
    ('collections', 'defaultdict'): {**_DICT, '__copy__': _SHARES,
                                     **_each(_SELF_CALLS, '__getitem__ __missing__')},
    ('collections', 'OrderedDict'): {**_DICT, 'move_to_end': _SELF},
    ('array', 'array'): {**_READ_SEQUENCE, **_CONCATENATE, **_CHANGE_SEQUENCE,
                         **_each(PURE, 'buffer_info tobytes tolist tounicode __copy__'),
                         **_each(_SELF, 'byteswap frombytes fromlist fromunicode'),
                         'fromfile': _effect(RECEIVER, 0, reads='files'),
                         'tofile': _effect(0, writes='files')},
    # random.Random: every draw advances the instance's own generator
    ('random', 'Random'): _RANDOM,
    ('random', 'SystemRandom'): _RANDOM,
    ('statistics', 'NormalDist'): {**_each(PURE, 'cdf inv_cdf overlap pdf quantiles zscore'),
                                   'samples': _effect(reads='random', writes='random')},
    # decimal.Decimal: all but a few methods use the context
    ('decimal', 'Decimal'): {
        **_each(PURE, 'adjusted as_integer_ratio as_tuple canonical conjugate copy_abs copy_negate '
                      'is_canonical is_finite is_infinite is_nan is_qnan is_signed is_snan is_zero '
                      'radix'),
        **_each(_DECIMAL, _REAL + ' compare compare_signal compare_total compare_total_mag '
                                  'copy_sign exp fma is_normal is_subnormal ln log10 logb '
                                  'logical_and logical_invert logical_or logical_xor max max_mag '
                                  'min min_mag next_minus next_plus next_toward normalize '
                                  'number_class quantize remainder_near rotate same_quantum scaleb '
                                  'shift sqrt to_eng_string to_integral to_integral_exact '
                                  'to_integral_value __complex__ __repr__ __str__'),
    },
    ('fractions', 'Fraction'): _each(PURE, _REAL + ' as_integer_ratio is_integer limit_denominator '
                                                   '__complex__'),
    # datetime: values (local time depends on TZ)
    ('datetime', 'date'): _DATE,
    ('datetime', 'datetime'): {**_DATE,
                               **_each(PURE, 'date dst time timetz tzname utcoffset utctimetuple'),
                               **_each(_LOCAL_TIME, 'astimezone timestamp')},
    ('datetime', 'time'): {**_each(PURE, 'dst isoformat replace tzname utcoffset __hash__ __str__ '
                                         + _COMPARISONS),
                           **_each(_READS_LOCALE, 'strftime __format__')},
    ('datetime', 'timedelta'): _each(PURE, 'total_seconds __abs__ __add__ __bool__ __divmod__ '
                                           '__floordiv__ __hash__ __mod__ __mul__ __neg__ __pos__ '
                                           '__radd__ __rmul__ __rsub__ __str__ __sub__ '
                                           '__truediv__ ' + _COMPARISONS),
    ('datetime', 'timezone'): _each(PURE, 'dst fromutc tzname utcoffset'),
    ('re', 'Pattern'): {**_each(PURE, 'findall finditer fullmatch match search split'),
                        **_each(_CALLS, 'sub subn')},
    ('re', 'Match'): _each(PURE, 'end expand group groupdict groups span start __getitem__'),
    ('string', 'Template'): {**_each(_effect(0), 'safe_substitute substitute'),
                             **_each(PURE, 'get_identifiers is_valid')},
    ('textwrap', 'TextWrapper'): _each(PURE, 'fill wrap'),
    ('struct', 'Struct'): {**_each(PURE, 'pack unpack'),
                           **_each(_SHARES, 'iter_unpack unpack_from'),
                           'pack_into': _effect(0)},
    # Hashes and compressors accumulate what they are fed
    **{key: {'update': _SELF, **_each(PURE, 'copy digest hexdigest')}
       for key in [('hashlib', 'HASH'), ('hashlib', 'HASHXOF'), ('hashlib', 'blake2b'),
                   ('hashlib', 'blake2s')]},
    ('zlib', 'Compress'): {**_each(_SELF, 'compress flush'), 'copy': PURE},
    ('zlib', 'Decompress'): {**_each(_SELF, 'decompress flush'), 'copy': PURE},
    # Paths: arithmetic on names, and operations on the files they name
    **{('pathlib', name): _PURE_PATH for name in ['PurePath', 'PurePosixPath', 'PureWindowsPath']},
    **{('pathlib', name): _PATH for name in ['Path', 'PosixPath', 'WindowsPath']},
    # Files move their position as they are read, and change the file as they are written
    ('io', 'TextIOWrapper'): _stream('read', 'detach reconfigure write', state='files'),
    **{('io', name): _stream('peek read read1', 'detach write', 'readinto readinto1', 'files')
       for name in ['BufferedRWPair', 'BufferedRandom', 'BufferedReader']},
    ('io', 'BufferedWriter'): _stream('read read1', 'detach write', 'readinto readinto1', 'files'),
    ('io', 'FileIO'): _stream('read readall', 'write', 'readinto', 'files'),
    ('io', 'StringIO'): {**_stream('read', 'detach write'), 'getvalue': PURE},
    ('io', 'BytesIO'): {**_stream('read read1', 'detach write', 'readinto readinto1'),
                        'getvalue': PURE, 'getbuffer': _SHARES},
    ('csv', 'reader'): {'__next__': _effect(RECEIVER, reads='files', result_shares=True),
                        '__iter__': _SHARES},
    ('csv', 'writer'): _each(_effect(RECEIVER, writes='files'), 'writerow writerows'),
    ('csv', 'DictReader'): {'__next__': _effect(RECEIVER, reads='files', result_shares=True),
                            '__iter__': _SHARES},
    ('csv', 'DictWriter'): _each(_effect(RECEIVER, writes='files'),
                                 'writeheader writerow writerows'),
    # Loggers live in logging's registry: configuring one changes it, logging goes through handlers
    **{('logging', name): {**_each(_LOGS, _LOGGER_EMITS + ' fatal handle'),
                           **_each(_effect(RECEIVER, reads='logging', writes='logging'),
                                   'addFilter addHandler removeFilter removeHandler setLevel'),
                           'getChild': _LOGS,
                           **_each(_READS_LOGGING, 'getChildren getEffectiveLevel hasHandlers '
                                                   'isEnabledFor')}
       for name in ['Logger', 'RootLogger']},
    ('logging', 'LoggerAdapter'): {**_each(_LOGS, _LOGGER_EMITS + ' setLevel'),
                                   **_each(_READS_LOGGING, 'getEffectiveLevel hasHandlers '
                                                           'isEnabledFor')},
    ('numpy', 'ndarray'): _NDARRAY,
    # os.environ: a mapping that is the environment
    ('os', '_Environ'): {**_each(_effect(reads='environ'),
                                 'copy get items keys values __contains__ __getitem__ __iter__ '
                                 '__len__'),
                         **_each(_effect(RECEIVER, reads='environ', writes='environ'),
                                 'clear pop popitem setdefault update __delitem__ __ior__ '
                                 '__setitem__')},
}


# Using one of these values touches the state.
_TYPE_STATES = {
    ('decimal', 'Decimal'): ('decimal', True),      # its arithmetic records flags in the context
    ('decimal', 'Context'): ('decimal', True),      # it may be the current context
    ('os', '_Environ'): ('environ', True),
    # Printing one follows numpy's print options; arithmetic, its error handling
    ('numpy', 'ndarray'): ('numpy', False),
    **{('logging', name): ('logging', True) for name in ['Logger', 'LoggerAdapter', 'RootLogger']},
    # A file object reads and writes the file behind it
    **{('io', name): ('files', True)
       for name in ['BufferedRWPair', 'BufferedRandom', 'BufferedReader', 'BufferedWriter',
                    'FileIO', 'TextIOWrapper']},
}

# Module attributes that are state: changing them changes it.
_ATTRIBUTE_STATES = {
    ('sys', 'path'): 'sys.path',
    ('sys', 'argv'): 'sys.argv',
    ('os', 'environ'): 'environ',
    ('os', 'environb'): 'environ',
    ('warnings', 'filters'): 'warnings',
    ('decimal', 'DefaultContext'): 'decimal',
    ('logging', 'root'): 'logging',
    ('logging', 'raiseExceptions'): 'logging',
    ('logging', 'lastResort'): 'logging',
}

# Where functions and types report a module (``__module__``) other than the
# one they are imported from.
_MODULE_ALIASES = {
    'posixpath': 'os.path', 'ntpath': 'os.path', 'genericpath': 'os.path',
    'posix': 'os', 'nt': 'os',
    'json.decoder': 'json', 'json.encoder': 'json', 'pathlib._local': 'pathlib',
    '_abc': 'abc', '_bisect': 'bisect', '_blake2': 'hashlib', '_collections': 'collections',
    '_csv': 'csv', '_datetime': 'datetime', '_pydatetime': 'datetime', '_decimal': 'decimal',
    '_pydecimal': 'decimal', '_functools': 'functools', '_hashlib': 'hashlib', '_heapq': 'heapq',
    '_io': 'io', '_pyio': 'io', '_locale': 'locale', '_operator': 'operator', '_pickle': 'pickle',
    '_struct': 'struct', '_warnings': 'warnings',
    **dict.fromkeys(['numpy.random._generator', 'numpy.random._pcg64', 'numpy.random._philox',
                     'numpy.random._sfc64', 'numpy.random._mt19937', 'numpy.random.bit_generator',
                     'numpy.random.mtrand'], 'numpy.random'),
}


def _module(name):
    return _MODULE_ALIASES.get(name, name)


# CPython forks only in the main interpreter: in a subinterpreter a
# multiprocessing Pool hangs and a Process's child aborts. Whatever such code
# is given, it may call back (a Pool's map runs notebook functions).
_FORKS = Effect(mutates=frozenset({ALL_ARGUMENTS}), writes_state=frozenset({'files'}),
                calls_arguments=True,
                host_only='what starts processes by forking (multiprocessing, os.fork), which '
                          'CPython allows only in the main interpreter')


def _forks(module, qualname):
    return module.partition('.')[0] == 'multiprocessing' or \
        (module.startswith('concurrent.futures') and qualname.startswith('ProcessPoolExecutor')) \
        or (module in ('os', 'posix', 'pty') and qualname in ('fork', 'forkpty'))


# Library functions that look for what to run among the names of ``__main__``
# (the notebook's): the tests of unittest.main, the docstrings of doctest.testmod,
# timeit's source strings (``setup='from __main__ import f, data'``), and the
# statement a profiler runs in ``__main__`` (``cProfile.run("solve(grid)")``).
_SEARCH_MAIN = frozenset({('unittest', 'main'), ('unittest', 'TestProgram'),
                          ('unittest.main', 'TestProgram'), ('doctest', 'testmod'),
                          ('timeit', 'timeit'), ('timeit', 'repeat'), ('timeit', 'Timer'),
                          ('cProfile', 'run'), ('profile', 'run')})


# Library functions that evaluate the annotations of what they are given with its
# globals: strings, and all of them under ``from __future__ import annotations``.
_EVALUATE_ANNOTATIONS = frozenset({('typing', 'get_type_hints'), ('inspect', 'get_annotations')})


def reads_notebook_names(module, qualname):
    """How calling ``module.qualname`` may read any name the notebook defines (as
    "looks for what to run among every name"), or None if it does not."""
    if (_module(module), qualname) in _SEARCH_MAIN:
        return 'looks for what to run among every name'
    if (_module(module), qualname) in _EVALUATE_ANNOTATIONS:
        return 'evaluates the annotations of what it is given, which may name any global'
    return None


# IPython's shell is the host's: a worker has only a stand-in that displays.
# Everything of IPython but its display and formatting may reach for the shell
# (``register_line_magic`` registers into it, ``embed`` starts one).
_SHELL_FREE = ('IPython.display.', 'IPython.core.display', 'IPython.lib.display.',
               'IPython.lib.pretty.', 'IPython.core.formatters.', 'IPython.utils.')
_USES_SHELL = replace(UNKNOWN, writes_state=frozenset({'files', 'ipython'}))


def needs_shell(path):
    """May what the dotted `path` names (``IPython.core.magic.register_line_magic``)
    reach for IPython's shell?"""
    return path.partition('.')[0] == 'IPython' and not f'{path}.'.startswith(_SHELL_FREE)


def function_effect(module, qualname):
    """The `Effect` of calling ``module.qualname``, or None if unknown.

    `module` is the module as imported (``'os.path'``, ``'builtins'`` for
    builtins) or the ``__module__`` of the function (``'posixpath'``);
    `qualname` is the dotted path inside it (``'join'``, ``'datetime.now'``
    for a class method).  Functions bound to a hidden instance, like
    ``random.random``, are known only by the name they are imported as.
    """
    module = _module(module)
    if _forks(module, qualname):
        return _FORKS
    if needs_shell(f'{module}.{qualname}'):
        return replace(_USES_SHELL, host_only=f'{module}.{qualname}, which needs IPython\'s '
                                              f'shell, in the host')
    return _FUNCTIONS.get(module, {}).get(qualname)


# numpy functions that return an array (a numpy scalar for scalar arguments,
# whose methods change nothing either).
_NDARRAY_RESULTS = frozenset(
    'abs absolute add append arange arccos arcsin arctan arctan2 argsort around array '
    'asarray broadcast_to ceil clip column_stack concatenate copy cos cosh cumprod cumsum '
    'deg2rad diag diff divide dstack empty empty_like exp exp2 expm1 eye flip fliplr flipud '
    'floor floor_divide full full_like hstack hypot identity linspace log log10 log1p log2 '
    'logspace maximum minimum mod multiply negative ones ones_like outer power rad2deg ravel '
    'reciprocal remainder repeat reshape rint roll rot90 round sign sin sinh sort sqrt square '
    'squeeze stack subtract swapaxes tan tanh tile transpose tril triu true_divide trunc '
    'vstack zeros zeros_like'.split())


# What library functions return, where the type's methods are in `_METHODS`.
_RESULT_TYPES = {
    'hashlib': {**{name: ('_hashlib', 'HASH') for name in (
                    'md5 new sha1 sha224 sha256 sha384 sha3_224 sha3_256 sha3_384 '
                    'sha3_512 sha512').split()},
                **{name: ('_hashlib', 'HASHXOF') for name in ('shake_128', 'shake_256')},
                'blake2b': ('_blake2', 'blake2b'), 'blake2s': ('_blake2', 'blake2s')},
    're': {'compile': ('re', 'Pattern'),
           **{name: ('re', 'Match') for name in ('fullmatch', 'match', 'search')}},
    'zlib': {'compressobj': ('zlib', 'Compress'), 'decompressobj': ('zlib', 'Decompress')},
}


def result_type(module, qualname):
    """``(type module, type qualname)`` of what calling ``module.qualname`` returns,
    where known, else None."""
    module = _module(module)
    if module == 'numpy' and qualname in _NDARRAY_RESULTS:
        return ('numpy', 'ndarray')
    return _RESULT_TYPES.get(module, {}).get(qualname)


def method_effect(type_module, type_qualname, method):
    """The `Effect` of calling `method` on an instance of that type, or None if unknown.

    The type is named by its ``__module__`` and ``__qualname__``; positions in
    `Effect.mutates` count the arguments after the receiver.  Class and static
    methods (``d.fromkeys``) are found among the functions.
    """
    module = _module(type_module)
    effect = _METHODS.get((module, type_qualname), {}).get(method)
    return effect if effect is not None else function_effect(module, f'{type_qualname}.{method}')


def attribute_state(module, attribute):
    """The name of the state that ``module.attribute`` holds (``sys.path``), or None."""
    return _ATTRIBUTE_STATES.get((_module(module), attribute))


# Library types whose properties cache what they compute in the object they are
# read on: reading one changes the object (IPython's SList, what ``!ls`` returns,
# keeps its joined forms).
_CACHING_PROPERTIES = {('IPython.utils.text', 'SList'): frozenset({'s', 'spstr', 'n', 'nlstr',
                                                                   'p', 'paths'})}


def caches_on_read(type_module, type_qualname, attribute):
    """Does reading `attribute` of a value of that type change the value (a cache)?"""
    return attribute in _CACHING_PROPERTIES.get((type_module, type_qualname), ())


def type_state(type_module, type_qualname):
    """(state name, writes) touched by using values of that type, or None."""
    return _TYPE_STATES.get((_module(type_module), type_qualname))


# Calls whose result cannot leave the interpreter that made it (an open file,
# a lock, a thread, a connection): the dataflow makes such values in one
# worker, so that a cell reading several of them finds them together.
_UNMOVABLE_RESULTS = {
    'builtins': {'open'}, 'io': {'open', 'open_code', 'FileIO', 'TextIOWrapper'},
    'threading': {'Lock', 'RLock', 'Thread', 'Event', 'Condition', 'Semaphore',
                  'BoundedSemaphore', 'Barrier', 'Timer'},
    'socket': {'socket', 'create_connection', 'socketpair'}, 'sqlite3': {'connect'},
    'tempfile': {'TemporaryFile', 'NamedTemporaryFile', 'SpooledTemporaryFile'},
    'weakref': {'WeakSet', 'WeakValueDictionary', 'WeakKeyDictionary', 'finalize', 'ref',
                'WeakMethod'},
}


def makes_unmovable(module, qualname):
    """Does calling ``module.qualname`` return a value that cannot leave its interpreter?"""
    return qualname in _UNMOVABLE_RESULTS.get(_module(module), ())
