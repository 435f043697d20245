"""Typed errors of the program logic: one root, one subclass per kind of bad input."""

from __future__ import annotations


class ProgramError(ValueError):
    """Root of every error raised by ``program`` (a ValueError: it is always bad input)."""


class RuleParameterError(ProgramError):
    """A rule object was constructed with a parameter outside its valid range."""


class ScreeningInputError(ProgramError):
    """A screening was given a session it cannot use (wrong drill, mixed sides)."""


class ProgressionInputError(ProgramError):
    """Progression was given a prescription or session history it cannot use."""


class UnknownDrillError(ProgramError):
    """A drill or stage name that the catalogue does not hold."""
