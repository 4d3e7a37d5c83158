// torch.save files through the restricted reader (src/io/torch_file.h) against what PyTorch
// reads back from the same files (tests/parity/torch_file_reference.py, run at test time by
// torch_reference.py): names in order, dtypes, shapes and every value exactly; a file whose
// pickle names os.system refused without running it; truncated and corrupted files refused.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/rng.h"
#include "io/file.h"
#include "io/torch_file.h"
#include "lstm/error.h"
#include "lstm/io.h"

namespace {

std::string dir() {
  const char* d = std::getenv("LSTM_PARITY_DIR");
  return d ? std::string(d) + "/torch-files" : "";
}

std::vector<uint8_t> bytes_of(const std::string& path) {
  const std::string s = lstm::read_file(path, "file");
  return {s.begin(), s.end()};
}

TEST(TorchFile, EveryCaseReadsAsPyTorchDoes) {
  ASSERT_FALSE(dir().empty()) << "set LSTM_PARITY_DIR (ctest does)";
  std::ifstream list(dir() + "/cases.txt");
  int cases = 0;
  for (std::string name; std::getline(list, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    const std::vector<lstm::TorchTensor> got = lstm::read_torch_state_dict(dir() + "/" + name + ".pt");
    std::ifstream names(dir() + "/" + name + "/names.txt");
    size_t k = 0;
    for (std::string line; std::getline(names, line); ++k) {
      std::istringstream in(line);
      std::string index, key, dtype;
      in >> index >> key >> dtype;
      ASSERT_LT(k, got.size());
      EXPECT_EQ(got[k].name, key);
      EXPECT_EQ(got[k].dtype, dtype);
      const lstm::Tensor want = lstm::load_npy(dir() + "/" + name + "/" + index + ".npy");
      if (got[k].shape.empty())  // a scalar; the .npy reader gives it one dimension
        EXPECT_EQ(want.size(), 1) << key;
      else
        EXPECT_EQ(got[k].shape, want.shape()) << key;
      ASSERT_EQ(int64_t(got[k].data.size()), want.size()) << key;
      for (int64_t e = 0; e < want.size(); ++e) ASSERT_EQ(got[k].data[size_t(e)], want[e]) << key << " [" << e << "]";
    }
    EXPECT_EQ(k, got.size());
    ++cases;
  }
  EXPECT_EQ(cases, 5);
}

TEST(TorchFile, CodeInThePickleIsRefusedNotRun) {
  ASSERT_FALSE(dir().empty());
  try {
    lstm::read_torch_state_dict(dir() + "/evil.pt");
    FAIL() << "evil.pt was read";
  } catch (const lstm::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("global posix.system"), std::string::npos) << m;
    EXPECT_NE(m.find("would have run it"), std::string::npos) << m;
    EXPECT_NE(m.find("data.pkl at byte"), std::string::npos) << m;
  }
}

TEST(TorchFile, TruncatedAndCorruptFilesAreRefused) {
  ASSERT_FALSE(dir().empty());
  const std::vector<uint8_t> whole = bytes_of(dir() + "/lstm_bi_proj.pt");
  EXPECT_EQ(lstm::decode_torch_state_dict(whole, "whole").size(), 20u);
  for (size_t cut = 0; cut < whole.size(); cut += 97) {
    const std::vector<uint8_t> part(whole.begin(), whole.begin() + ptrdiff_t(cut));
    EXPECT_THROW(lstm::decode_torch_state_dict(part, "cut"), lstm::Error) << cut << " bytes";
  }
  // a byte changed anywhere: refused, or (a byte of padding or a timestamp) read exactly as
  // before: zip's CRCs guard the pickle and the data; never a crash (the sanitizers watch)
  const std::vector<lstm::TorchTensor> good = lstm::decode_torch_state_dict(whole, "whole");
  lstm::Rng rng(3);
  int refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> bad = whole;
    bad[rng.below(uint32_t(bad.size()))] ^= uint8_t(1 + rng.below(255));
    try {
      const std::vector<lstm::TorchTensor> read = lstm::decode_torch_state_dict(bad, "flipped");
      ASSERT_EQ(read.size(), good.size());
      for (size_t k = 0; k < good.size(); ++k) {
        ASSERT_EQ(read[k].name, good[k].name);
        ASSERT_EQ(read[k].shape, good[k].shape);
        ASSERT_EQ(read[k].data, good[k].data);
      }
    } catch (const lstm::Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 500);
  EXPECT_THROW(lstm::read_torch_state_dict(dir() + "/cases.txt"), lstm::Error);  // not a zip
  try {  // compressed entries could declare any size: refused before anything is allocated
    lstm::read_torch_state_dict(dir() + "/deflated.pt");
    ADD_FAILURE() << "deflated.pt was read";
  } catch (const lstm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("a compressed entry"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lstm::read_torch_state_dict(dir() + "/missing.pt"), lstm::Error);
}

}  // namespace
