"""lstm: Long Short-Term Memory networks in C++, called from Python with Keras's API.

    from lstm.models import Sequential
    from lstm.layers import LSTM, Dense

    model = Sequential()
    model.add(LSTM(50, input_shape=(timesteps, features)))  # 50 LSTM units
    model.add(Dense(1))  # Output layer
    model.compile(optimizer='adam', loss='mean_squared_error')
    model.fit(X_train, y_train, epochs=50, batch_size=32)

Arrays are NumPy arrays: float32 in C order is read where it lies (no copy); other dtypes and
layouts are converted once. Results come back as float32 arrays that own the library's memory.
fit/predict/evaluate release the GIL; Ctrl-C stops fit() after the current batch and raises
KeyboardInterrupt (model.history keeps the finished epochs). The library's errors are raised as
lstm.Error (a ValueError) with its message, which names the problem and the fix.

Modules: lstm.layers, lstm.models, lstm.optimizers, lstm.losses, lstm.callbacks, and the jobs
lstm.forecast (a CSV column to a forecaster) and lstm.text (language models, classifiers).
"""
from ._lstm import (  # noqa: F401
    Error,
    History,
    Input,
    Model,
    Sequential,
    TrainingDiverged,
    __version__,
    load_model,
    num_threads,
    set_num_threads,
)
from . import callbacks, forecast, layers, losses, models, optimizers, text  # noqa: F401,E402

__all__ = [
    "Error", "History", "Input", "Model", "Sequential", "TrainingDiverged", "__version__",
    "load_model", "num_threads", "set_num_threads", "callbacks", "forecast", "layers", "losses", "models", "optimizers", "text",
]
