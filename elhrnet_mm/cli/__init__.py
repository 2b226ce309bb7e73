"""Command lines whose argument handling tests import.

Each module here is the body of a script under ``tools/`` (named alike):
argument parsing, checks with ``parser.error`` and ``main(argv)``. The
script only calls :func:`main`, so tests exercise the command line
in-process by importing it from the package, never by loading a tool by
file path. This is the top layer: it may import every other subpackage, and
nothing in the package imports it.
"""
