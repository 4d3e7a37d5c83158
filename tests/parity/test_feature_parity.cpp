// Speech features (lstm/audio.h) against an independent NumPy reference in float64
// (tests/parity/feature_reference.py, run at test time by torch_reference.py): WAV files read
// through libsndfile, log-mel and MFCC with deltas, per-utterance normalisation or none, at
// 8, 16 and 22.05 kHz, a signal with digital silence in it, a signal of one frame.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "io/file.h"
#include "lstm/audio.h"
#include "lstm/io.h"

namespace {

std::string dir() {
  const char* d = std::getenv("LSTM_PARITY_DIR");
  return d ? std::string(d) + "/features" : "";
}

TEST(FeatureParity, EveryCaseWithinTolerance) {
  ASSERT_FALSE(dir().empty()) << "set LSTM_PARITY_DIR (ctest does)";
  std::ifstream list(dir() + "/cases.txt");
  int count = 0;
  for (std::string name; std::getline(list, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    const std::string path = dir() + "/" + name + "/";
    const lstm::FeatureOptions o = lstm::feature_options_from_json(lstm::read_file(path + "options.json", "options"));
    const lstm::Audio a = lstm::read_audio(path + "signal.wav");
    ASSERT_EQ(a.sample_rate, o.sample_rate);
    const lstm::Tensor got = lstm::FeatureExtractor(o).compute(a.samples);
    const lstm::Tensor want = lstm::load_npy(path + "features.npy");
    ASSERT_EQ(got.shape(), want.shape());
    double worst = 0;
    for (int64_t k = 0; k < got.size(); ++k) worst = std::max(worst, std::fabs(double(got[k]) - want[k]));
    // float32 FFT against float64 (measured: at most 2.6e-5); features are O(1) to O(20)
    EXPECT_LE(worst, 1e-4) << "max abs difference over " << got.size() << " values";
    std::printf("%-24s %4lld frames x %3lld: max abs diff %.2e\n", name.c_str(), (long long)got.dim(0),
                (long long)got.dim(1), worst);
    ++count;
  }
  EXPECT_EQ(count, 5);
}

}  // namespace
