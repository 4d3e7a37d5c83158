"""Losses: give compile() a name ("mse", "binary_crossentropy", ...) or a Loss for options."""
from ._lstm import Loss  # noqa: F401
