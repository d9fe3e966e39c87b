from .app import launch_instance

# At module level, as ipykernel_launcher does: a cell runs as deep in the stack
# as on ipykernel (see _ipykernel.RUN_CELL_DEPTH).
launch_instance()
