"""The seed's Keras example, line for line, in Python with lstm's module: an LSTM(50) -> Dense(1)
forecaster trained with Adam on mean squared error, on a generated noisy sine series (the data
of examples/quickstart.cpp).

    PYTHONPATH=build/python /usr/bin/python3 examples/quickstart.py    # or after scripts/install-python.sh
"""
import numpy as np

from lstm.models import Sequential, load_model
from lstm.layers import LSTM, Dense

timesteps, features, n, n_train = 30, 1, 1000, 800
k = np.arange(n + timesteps, dtype=np.float32)
noise = (np.random.default_rng(12345).random(n + timesteps, dtype=np.float32) - 0.5) * 0.1
series = np.sin(0.1 * k) + 0.5 * np.sin(0.031 * k) + noise
# windows of 30 steps predict the next value: X [N, T, F], y [N, 1]
X = np.lib.stride_tricks.sliding_window_view(series[:-1], timesteps)[:n, :, None].astype(np.float32)
y = series[timesteps:timesteps + n, None].astype(np.float32)
X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]

# Define the model
model = Sequential()
model.add(LSTM(50, input_shape=(timesteps, features)))  # 50 LSTM units
model.add(Dense(1))  # Output layer

# Compile the model
model.compile(optimizer='adam', loss='mean_squared_error')
model.summary()

# Fit the model
history = model.fit(X_train, y_train, epochs=50, batch_size=32)

# Predict, evaluate, save, load
test_mse = model.evaluate(X_test, y_test)
model.save("quickstart.safetensors")
forecast = load_model("quickstart.safetensors").predict(X_test)
print("\nfirst loss %.5f, last loss %.5f" % (history.history["loss"][0], history.history["loss"][-1]))
print("test MSE %.5f vs %.5f for predicting the mean (%.1fx better)" % (test_mse, y_test.var(), y_test.var() / test_mse))
print("next value: predicted %.4f, actual %.4f" % (forecast[0, 0], y_test[0, 0]))
assert test_mse < y_test.var()
