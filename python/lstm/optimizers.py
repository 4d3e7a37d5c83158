"""Optimizers with Keras's names and defaults (PyTorch's update rules)."""
from ._lstm import SGD, Adam, AdamW, Optimizer, RMSprop  # noqa: F401
