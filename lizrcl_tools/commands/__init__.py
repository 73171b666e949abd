"""Thin CLI layers, one module per sub-command (see :mod:`lizrcl_tools.cli`)."""
