"""interpkernel's benchmark suite: ``python -m benchmarks`` prints one markdown table.

Each module measures one group of figures against anchors measured in the same
run (threads, processes, ipyparallel, CPython's own interpreter queues) and
returns table rows; `benchmarks.__main__` runs the groups and prints the table.
"""
