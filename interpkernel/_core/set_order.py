"""Sets that cross interpreters iterate in the order they had where they were made.

A set iterates in the order of its hash table's slots, which depends on its
history (what was added in which order, what was removed, how the table grew)
and not only on its items.  Unpickling rebuilds a set by adding its items one
by one, so a copy can iterate in another order: a `Counter` built by
iterating the copy, or anything printed from it, would then differ from
running the notebook in order, with no error.

`transfer` pickles with protocol 3, in which a set is ``set(items)`` with its
items in iteration order (protocols 4 and 5 have opcodes of their own for
sets, that no hook sees), and its unpickler builds sets with `ordered_set`
and `ordered_frozenset`, which give exactly that order or raise
`OrderNotKept`.  A value that cannot move keeps its readers at its home, and
where a reader must run elsewhere the error says why.

How: first the plain rebuild, right for most sets.  Else each item is given a
slot, in iteration order, from its probe sequence (CPython's
``Objects/setobject.c``), and the slots its probe passes before that are
filled first, by items added earlier or by placeholders removed at the end.
The result is checked, so a CPython whose tables work otherwise gives an
error, never a set in another order.

What a copy does not keep: the size of the table, which slots removed items
left (a later ``add`` may take another slot than in the original), and where
``set.pop`` resumes.  A set of strings copied to another process (a cluster
engine) hashes its strings differently there; the check finds that and the
set stays home.  Subclasses of set are pickled as before.
"""

import bisect
import heapq
import itertools
import struct

__all__ = ['OrderNotKept', 'ordered_set', 'ordered_frozenset']

_LINEAR_PROBES = 9            # Objects/setobject.c
_PERTURB_SHIFT = 5
_SMALL_TABLE = 8              # PySet_MINSIZE
_WORD = 2 ** (8 * struct.calcsize('P'))
# How many of an item's probes may give its slot: first two linear runs (most
# items sit in the first), then four, then (in a table small enough) all of
# them: items with hashes equal modulo the size can pass a hundred slots.
_LOOKS = (2 * (_LINEAR_PROBES + 1), 4 * (_LINEAR_PROBES + 1))
_EVERY_PROBE = None
_EVERY_PROBE_AT_MOST = 1 << 22  # items times slots, for the last look
_TABLE_SIZES_TRIED = 4        # the smallest table that holds the items, and 3 doublings
_EVERY_ORDER_AT_MOST = 7      # frozensets this small are tried in every order
_BARRING_ROUNDS = 8           # plans tried for a frozenset, each barring more slots
_PLACED_AT_MOST = 50_000      # bigger sets that the plain rebuild gets wrong stay home


class OrderNotKept(ValueError):
    """A copy of a set would iterate in another order than the set."""


def _an_order(result, items):
    """Can `items` be the iteration order of `result` (a list of its items, once each)?"""
    return type(items) is list and len(items) == len(result)


def _in_order(result, items):
    return len(result) == len(items) and all(a is b for a, b in zip(result, items))


def ordered_set(items=()):
    """A set of `items` that iterates in their order; OrderNotKept if none is found.

    Pickle gives a set's items as a list in iteration order; anything else (a
    library's own reduce calling ``set`` on a string or a tuple) is plain ``set``.
    """
    result = set(items)
    if _in_order(result, items) or not _an_order(result, items):
        return result
    for plan in _plans(items):
        try:
            result = _laid_out(plan)
        except Exception as exc:   # an item's __eq__ that refuses a placeholder
            raise _not_kept('set', items) from exc
        if _in_order(result, items):
            return result
    raise _not_kept('set', items)


def ordered_frozenset(items=()):
    """A frozenset of `items` that iterates in their order; OrderNotKept if none is found."""
    if not _an_order(frozenset(items), items):
        return frozenset(items)
    # A frozenset cannot lose placeholders: only orders of the items themselves.
    orders = itertools.chain([items], (plan.order for plan in _plans(items, placeholders=False)))
    if len(items) <= _EVERY_ORDER_AT_MOST:      # plans miss some: try them all
        orders = itertools.chain(orders, itertools.permutations(items))
    for order in orders:
        for result in (frozenset(order), frozenset(dict.fromkeys(order))):
            if _in_order(result, items):
                return result
    raise _not_kept('frozenset', items)


def _plans(items, *, placeholders=True):
    """`_Plan`s for `items` in tables of a few sizes, likeliest first (with
    ``placeholders=False`` only plans that need none): none for a set too big
    to place."""
    if len(items) > _PLACED_AT_MOST:
        return
    hashes = [hash(item) for item in items]
    smallest = _SMALL_TABLE
    while len(items) * 5 >= (smallest - 1) * 3:     # a table is at most 60% full
        smallest *= 2
    sizes = [smallest << shift for shift in range(_TABLE_SIZES_TRIED)]
    # In the set's own table most items sit in their first slot, hash & mask,
    # which then grows from one item to the next.
    sizes.sort(key=lambda size: -sum(a < b for a, b in itertools.pairwise(
        [hash_value & (size - 1) for hash_value in hashes])))
    # The short looks in every size first: the last one, at every probe, costs
    # seconds for a thousand items (a set of powers of two, whose hashes crowd).
    tries = [(look, size) for look in _LOOKS for size in sizes]
    tries += [(_EVERY_PROBE, size) for size in sizes
              if len(items) * size <= _EVERY_PROBE_AT_MOST]
    planned = set()      # the sizes a plan was found for: one plan a size
    for look, size in tries:
        if size in planned:
            continue
        plan = _plan(items, hashes, size, look)
        # Without placeholders: the slots they would fill may not be passed.
        barred = set()
        for _ in range(_BARRING_ROUNDS):
            if plan is None or placeholders or not plan.placeholders:
                break
            barred.update(plan.placeholders)
            plan = _plan(items, hashes, size, look, barred)
        if plan is not None and (placeholders or not plan.placeholders):
            planned.add(size)
            yield plan


def _not_kept(kind, items):
    return OrderNotKept(f'a copy of this {kind} of {len(items)} items would iterate in another '
                        f'order than the original (its order comes from how it was built)')


class _Plan:
    """How to lay items out in a table of `size` slots: the `order` to add them
    in, after `placeholders` in those slots; `used` is every slot an item takes
    or passes on its way."""

    def __init__(self, size, order, placeholders, used):
        self.size, self.order, self.placeholders, self.used = size, order, placeholders, used


def _probes(hash_value, mask):
    """The slots a table of ``mask + 1`` slots tries, in order, for this hash."""
    perturb = hash_value % _WORD
    slot = perturb & mask
    while True:
        if slot + _LINEAR_PROBES <= mask:
            yield from range(slot, slot + _LINEAR_PROBES + 1)
        else:
            yield slot
        perturb >>= _PERTURB_SHIFT
        slot = (slot * 5 + 1 + perturb) & mask


def _plan(items, hashes, size, look, barred=()):
    """A `_Plan` that puts `items` in increasing slots, or None if none is found.

    Each item may take one of the first `look` slots its probe sequence reaches
    (not passing a `barred` slot on the way); of
    the increasing choices, the one that passes the fewest slots on the way
    (each passed slot must be filled first), found by dynamic programming.
    """
    mask = size - 1
    choices = [_choices(hash_value, mask, look, barred) for hash_value in hashes]
    # For each item in turn, by slot: (slot, least cost of getting there,
    # its position in the probes, the same for the item before).
    best_before = [(-1, 0, -1, None)]
    for _, options in choices:
        slots = [entry[0] for entry in best_before]
        cheapest = list(itertools.accumulate(best_before, lambda a, b: a if a[1] <= b[1] else b))
        here = []
        for slot, position in options:
            before = bisect.bisect_left(slots, slot) - 1
            if before >= 0:
                previous = cheapest[before]
                here.append((slot, previous[1] + position, position, previous))
        if not here:
            return None
        here.sort()
        best_before = here
    # Walk back from the cheapest end.
    end = min(best_before, key=lambda entry: entry[1])
    targets, passed_by = [], []
    for probes, _ in reversed(choices):
        slot, _, position, previous = end
        targets.append(slot)
        passed_by.append(probes[:position])
        end = previous
    targets.reverse()
    passed_by.reverse()
    owner = {slot: index for index, slot in enumerate(targets)}
    placeholders = set()
    # An item's slot is the first one its probe finds free: each slot it passes
    # must hold an earlier-added item or a placeholder.
    after = [[] for _ in items]
    needs = [0] * len(items)
    for index, passed in enumerate(passed_by):
        for slot in set(passed):
            first = owner.get(slot)
            if first is None:
                placeholders.add(slot)
            else:
                after[first].append(index)
                needs[index] += 1
    ready = [index for index, count in enumerate(needs) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        index = heapq.heappop(ready)
        order.append(items[index])
        for later in after[index]:
            needs[later] -= 1
            if needs[later] == 0:
                heapq.heappush(ready, later)
    if len(order) != len(items):
        return None      # items that each need the other first
    used = set(targets).union(*passed_by)
    return _Plan(size, order, sorted(placeholders), used)


def _choices(hash_value, mask, look, barred):
    """The first `look` probes of a hash (with `_EVERY_PROBE`, until every slot
    has come), and (slot, where it first comes among them) up to the first
    `barred` slot."""
    if look is _EVERY_PROBE:
        # Once the perturbation is spent, the probe's start steps through every
        # slot (slot * 5 + 1 has full period modulo a power of two).
        probes, seen = [], set()
        for slot in _probes(hash_value, mask):
            probes.append(slot)
            seen.add(slot)
            if len(seen) > mask:
                break
    else:
        probes = list(itertools.islice(_probes(hash_value, mask), look))
    firsts = {}
    for position, slot in enumerate(probes):
        firsts.setdefault(slot, position)
        if slot in barred:
            break
    return probes, firsts.items()


class _Placeholder:
    """Takes the slot equal to its hash; equal only to itself."""
    __slots__ = ('slot',)

    def __init__(self, slot):
        self.slot = slot

    def __hash__(self):
        return self.slot


def _laid_out(plan):
    """A set built after `plan` (if it fits its table).

    In a table without removed items, an item takes the first empty slot of its
    probe sequence.  A set made from a dict is sized for it first (the power of
    two above twice its length: a length from a quarter to half of `size`
    gives `size`), then takes its keys in order.  Placeholders in slots no item
    takes or passes make up a length too short; the rest is added one by one.
    """
    size = plan.size
    least, most = (0, 4) if size == _SMALL_TABLE else (max(size // 4, 5), size // 2 - 1)
    held = [_Placeholder(slot) for slot in plan.placeholders]
    spare = (slot for slot in range(size) if slot not in plan.used)
    held += [_Placeholder(slot) for slot, _ in
             zip(spare, range(least - len(held) - len(plan.order)))]
    sequence = held + plan.order
    result = set(dict.fromkeys(sequence[:most]))
    for item in sequence[most:]:
        result.add(item)
    for placeholder in held:
        result.discard(placeholder)
    return result
