// lstm.h - Long Short-Term Memory networks in C++: the whole public API.
//
//   #include <lstm/lstm.h>
//
//   lstm::Sequential model;
//   model.add(lstm::LSTM(50, {.input_shape = {30, 1}}));   // 50 units, 30 steps of 1 feature
//   model.add(lstm::Dense(1));
//   model.compile(lstm::Adam(), lstm::loss::mse);
//   model.fit(X_train, y_train, {.epochs = 50, .batch_size = 32});
//   lstm::Tensor forecast = model.predict(X_test);
//
// Headers, in the order data flows:
//   lstm/tensor.h   Tensor: the float32 array everything takes and returns
//   lstm/io.h       load_npy / save_npy / map_npy
//   lstm/layers.h   LSTM(...), Dense(...): layer descriptions, and the cell's equations
//   lstm/loss.h     loss::mse, loss::binary_crossentropy, ...
//   lstm/optim.h    Adam(), AdamW(), SGD(), RMSprop() and their update rules
//   lstm/model.h    Sequential: build, compile, fit, predict, evaluate, save, load; callbacks
//   lstm/functional.h  Input(), layer calls, Model: graphs of layers (Keras's functional API)
//   lstm/cell.h     LSTMCell: one step at a time, for loops of your own
//   lstm/text.h     text: Vocabulary (words or characters), language models, classifiers
//   lstm/music.h    music: MIDI files in and out, notes as tokens, melody models
//   lstm/video.h    video: frames from files (FFmpeg), activity classifiers, next-frame models
//   lstm/error.h    lstm::Error, thrown for any bad input
//   lstm/version.h  LSTM_VERSION_MAJOR, _MINOR, _PATCH, _STRING
#pragma once

#include "lstm/audio.h"
#include "lstm/cell.h"
#include "lstm/ctc.h"
#include "lstm/distributed.h"
#include "lstm/error.h"
#include "lstm/functional.h"
#include "lstm/io.h"
#include "lstm/layers.h"
#include "lstm/loss.h"
#include "lstm/model.h"
#include "lstm/music.h"
#include "lstm/optim.h"
#include "lstm/seq2seq.h"
#include "lstm/speech.h"
#include "lstm/tensor.h"
#include "lstm/text.h"
#include "lstm/video.h"
#include "lstm/version.h"

namespace lstm {
const char* version();  // LSTM_VERSION_STRING (lstm/version.h): the library this program runs with

// Threads used by training and inference: n <= 0 means the default, which is the environment
// variable LSTM_NUM_THREADS if set, else every core. Results are identical from run to run for
// a given thread count. fit, predict and evaluate run on fewer of them while other processes
// occupy cores (a governor times the batches; LSTM_THREAD_GOVERNOR=0 turns it off); how work
// is split follows n alone, so that changes speed, never a result.
void set_num_threads(int n);
int num_threads();
}  // namespace lstm
