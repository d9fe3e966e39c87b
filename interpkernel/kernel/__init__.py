"""The interp kernel: an ipykernel kernel whose cells run in parallel subinterpreters."""
