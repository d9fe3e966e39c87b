"""The CPU-bound function the teaching notebooks time, in a module of its own.

Process pools need the functions they run to be importable by name (a child
process cannot unpickle a function defined in a notebook); subinterpreters and
threads take it either way.
"""


def count_primes(limit):
    """How many primes are below `limit` (trial division, in pure Python: slow on purpose)."""
    count = 0
    for n in range(2, limit):
        if all(n % d for d in range(2, int(n ** 0.5) + 1)):
            count += 1
    return count
