// The seed's example in C++, for python/tests/test_module.py: the Python module must give the
// same weights and predictions bit for bit.
//   seed_twin X.npy y.npy SEED EPOCHS OUT_DIR  ->  OUT_DIR/weights.npy, OUT_DIR/pred.npy
#include <cstdlib>
#include <iostream>
#include <string>

#include "lstm/lstm.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: seed_twin X.npy y.npy SEED EPOCHS OUT_DIR\n";
    return 2;
  }
  try {
    const lstm::Tensor X = lstm::load_npy(argv[1]), y = lstm::load_npy(argv[2]);
    lstm::Sequential model({.seed = std::stoull(argv[3])});
    model.add(lstm::LSTM(50, {.input_shape = {X.dim(1), X.dim(2)}}));
    model.add(lstm::Dense(1));
    model.compile(lstm::Adam(), lstm::loss::mse);
    model.fit(X, y, {.epochs = std::atoi(argv[4]), .batch_size = 32, .verbose = 0});
    const std::string out = argv[5];
    std::vector<float> w = model.get_weights();
    const int64_t n = int64_t(w.size());
    lstm::save_npy(out + "/weights.npy", lstm::Tensor({n}, std::move(w)));
    lstm::save_npy(out + "/pred.npy", model.predict(X));
  } catch (const std::exception& e) {
    std::cerr << "seed_twin: " << e.what() << "\n";
    return 1;
  }
}
