"""Callbacks: Keras's EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger (run in C++),
and Callback, the base of callbacks written in Python."""
from ._lstm import (  # noqa: F401
    CSVLogger,
    EarlyStopping,
    History,
    ModelCheckpoint,
    ReduceLROnPlateau,
)


class Callback:
    """The base of a callback written in Python, with Keras's methods.

    fit() calls set_model(model) first, then on_train_begin(logs), after every batch
    on_train_batch_end(batch, logs) (batch from 0; logs["loss"] the epoch's mean loss so far),
    after every epoch on_epoch_end(epoch, logs) (loss, metrics, val_ ones), and on_train_end(logs).
    Setting self.model.stop_training = True ends fit() after the current batch (from
    on_train_batch_end) or epoch (from on_epoch_end). An exception raised here stops fit() the
    same way and is raised from fit().
    """

    def __init__(self):
        self.model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass
