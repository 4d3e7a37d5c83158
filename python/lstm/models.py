"""Models: Sequential (a stack of layers), Model (a graph of layers), load_model."""
from ._lstm import Model, Sequential, load_model  # noqa: F401
