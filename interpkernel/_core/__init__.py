"""The part of interpkernel that runs inside worker interpreters.

Everything here is imported by every worker at boot or on first need, so it
stays light: no IPython, no jupyter, no host-only state.  `_xi` is the only
module that touches the interpreter C layer.  Host code uses these modules
too (to encode values, to run host cells the same way), never the reverse:
nothing in `_core` imports from outside it except `interpkernel.errors`.
"""
