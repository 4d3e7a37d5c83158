// The convolution kernel (kernels/conv2d.h) against PyTorch's conv2d with autograd in float64
// (tests/parity/conv_reference.py, run at test time by torch_reference.py): outputs and the
// gradients of input, kernel and bias, for "valid" and TensorFlow's "same" padding, strides of
// 1 to 3, even and odd kernels, a kernel larger than the image.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kernels/conv2d.h"
#include "lstm/io.h"

namespace {

std::string dir() {
  const char* d = std::getenv("LSTM_PARITY_DIR");
  return d ? std::string(d) + "/conv" : "";
}

double worst(const float* got, const lstm::Tensor& want) {
  double w = 0;
  for (int64_t k = 0; k < want.size(); ++k) w = std::max(w, std::fabs(double(got[k]) - want[k]) / (1.0 + std::fabs(want[k])));
  return w;
}

TEST(ConvParity, EveryCaseWithinTolerance) {
  ASSERT_FALSE(dir().empty()) << "set LSTM_PARITY_DIR (ctest does)";
  std::ifstream list(dir() + "/cases.txt");
  int count = 0;
  for (std::string name; std::getline(list, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    const std::string path = dir() + "/" + name + "/";
    std::ifstream shape(path + "shape.txt");
    int64_t B = 0, same = 0;
    lstm::Conv2dShape s;
    shape >> B >> s.H >> s.W >> s.C >> s.KH >> s.KW >> s.F >> s.stride_h >> s.stride_w >> same;
    s.same = same != 0;
    s.check();
    auto load = [&](const char* key) { return lstm::load_npy(path + key + ".npy"); };
    const lstm::Tensor x = load("x"), kernel = load("kernel"), bias = load("bias"), dy = load("dy");
    const lstm::Tensor y_want = load("y"), dx_want = load("dx"), dk_want = load("dkernel"), db_want = load("dbias");
    ASSERT_EQ(y_want.shape(), (std::vector<int64_t>{B, s.out_h(), s.out_w(), s.F}));
    std::vector<float> ws(size_t(lstm::conv2d_workspace(s, B))), y(size_t(y_want.size()));
    lstm::conv2d_forward(s, B, x.data(), kernel.data(), bias.data(), y.data(), ws.data());
    std::vector<float> dx(size_t(x.size()), 7.0f), dk(size_t(kernel.size()), 0.0f), db(size_t(s.F), 0.0f);
    lstm::conv2d_backward(s, B, x.data(), kernel.data(), dy.data(), dx.data(), dk.data(), db.data(), ws.data());
    // float32 sums of up to 100 products against float64
    EXPECT_LE(worst(y.data(), y_want), 1e-5);
    EXPECT_LE(worst(dx.data(), dx_want), 1e-5);
    EXPECT_LE(worst(dk.data(), dk_want), 1e-5);
    EXPECT_LE(worst(db.data(), db_want), 1e-5);
    ++count;
  }
  EXPECT_EQ(count, 7);
}

}  // namespace
