"""Time-series forecasting from a CSV file: lstm.forecast.train(csv, target, ...)."""
from ._lstm import Forecaster  # noqa: F401
from ._lstm import train_forecaster as train  # noqa: F401
