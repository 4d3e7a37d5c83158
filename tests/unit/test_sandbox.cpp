// The child process that parses untrusted files (io/sandbox.h), and libhdf5 run inside it
// (io/hdf5_file.h): answers and errors come back, a crash or an endless loop in the child is a
// clear lstm::Error here, replies are bounded, and nothing leaks (descriptors, child processes).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "io/file.h"
#include "io/hdf5_file.h"
#include "io/keras_model.h"
#include "io/sandbox.h"
#include "test_util.h"

namespace {

size_t open_descriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// No child of this process is left, running or unreaped.
bool no_children() { return waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

}  // namespace

TEST(Sandbox, AnswersKeepTheChildsStateAndErrorsComeBackAsErrors) {
  lstm::Sandbox child("counter", [calls = 0](std::string_view request) mutable -> std::string {
    if (request == "fail") throw lstm::Error("counter: asked to fail");
    return std::string(request) + " " + std::to_string(++calls);
  });
  EXPECT_EQ(child.call("a", 10, 100), "a 1");
  EXPECT_EQ(child.call("b", 10, 100), "b 2");
  EXPECT_ERROR_WITH(child.call("fail", 10, 100), "counter: asked to fail");
  EXPECT_EQ(child.call("c", 10, 100), "c 3");  // an error is an answer: the child goes on
  EXPECT_EQ(child.call("", 10, 100), " 4");
}

TEST(Sandbox, ACrashIsAnErrorHereAndEveryLaterCallSaysSo) {
  {
    // (SIGKILL: a SIGSEGV would be caught by AddressSanitizer's handler in that build, which
    // then exits with code 1 - "counter ended (exit code 1)")
    lstm::Sandbox child("counter", [](std::string_view request) -> std::string {
      if (request == "crash") raise(SIGKILL);
      return "ok";
    });
    EXPECT_EQ(child.call("x", 10, 100), "ok");
    EXPECT_ERROR_WITH(child.call("crash", 10, 100), "counter crashed (signal 9");
    EXPECT_ERROR_WITH(child.call("x", 10, 100), "counter crashed (signal 9");  // gone for good
  }
  EXPECT_TRUE(no_children());
}

TEST(Sandbox, AnEndlessLoopEndsAtTheDeadline) {
  lstm::Sandbox child("looper", [](std::string_view) -> std::string {
    for (;;) {
    }
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR_WITH(child.call("x", 0.3, 100), "looper took more than 0.3 s (killed)");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, 0.29);
  EXPECT_LT(waited, 5.0);
  EXPECT_ERROR_WITH(child.call("x", 10, 100), "looper took more than");
}

TEST(Sandbox, AReplyLargerThanAllowedIsRefusedBeforeItIsRead) {
  lstm::Sandbox child("talker", [](std::string_view request) -> std::string {
    return std::string(request == "big" ? 1000 : 10, 'x');
  });
  EXPECT_EQ(child.call("small", 10, 100).size(), 10u);
  EXPECT_ERROR_WITH(child.call("big", 10, 100), "answered with 1000 bytes, more than the 100 allowed");
  EXPECT_ERROR_WITH(child.call("small", 10, 100), "refused");
}

TEST(Sandbox, NoDescriptorsOrProcessesAreLeft) {
  const size_t before = open_descriptors();
  for (int k = 0; k < 50; ++k) {
    lstm::Sandbox child("echo", [](std::string_view request) { return std::string(request); });
    EXPECT_EQ(child.call("hello", 10, 100), "hello");
    if (k % 10 == 0) EXPECT_ERROR_WITH(lstm::Sandbox("c", [](std::string_view) -> std::string {
                                         abort();
                                       }).call("x", 10, 10),
                                       "c crashed (signal 6");
  }
  EXPECT_EQ(open_descriptors(), before);
  EXPECT_TRUE(no_children());
}

TEST(Hdf5File, ReadsInItsChildWhatTheWriterWrote) {
  lstm::Hdf5Writer w;
  w.dataset("/model_weights/dense/kernel:0", {2, 3}, {1, 2, 3, 4, 5, 6.5f});
  w.dataset("/scalar", {}, {7});
  const std::string bytes = w.bytes();
  const size_t before = open_descriptors();
  {
    const lstm::Hdf5File f = lstm::Hdf5File::from_bytes(bytes, "test.h5");
    EXPECT_TRUE(f.exists("/model_weights/dense"));
    EXPECT_FALSE(f.exists("/model_weights/lstm"));
    EXPECT_FALSE(f.has_attribute("/", "model_config"));
    EXPECT_EQ(f.string_attribute("/", "model_config"), "");
    const lstm::NamedTensor t = f.dataset("/model_weights/dense/kernel:0");
    EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t.data, (std::vector<float>{1, 2, 3, 4, 5, 6.5f}));
    EXPECT_EQ(f.dataset("/scalar").data, std::vector<float>{7});
    EXPECT_ERROR_WITH(f.dataset("/nothing"), "test.h5: /nothing: no such dataset");
    EXPECT_ERROR_WITH(f.dataset("/model_weights"), "not a dataset");
    EXPECT_ERROR_WITH(f.string_list_attribute("/", "layer_names"), "has no attribute 'layer_names'");
    // moved, it still answers
    lstm::Hdf5File g = std::move(const_cast<lstm::Hdf5File&>(f));
    EXPECT_TRUE(g.exists("/scalar"));
  }
  EXPECT_EQ(open_descriptors(), before);
  EXPECT_TRUE(no_children());
}

TEST(Hdf5File, UnreadableFilesAreNamedErrors) {
  EXPECT_ERROR_WITH(lstm::Hdf5File::from_bytes("not hdf5 at all", "junk.h5"),
                    "junk.h5: not a readable HDF5 file");
  EXPECT_ERROR_WITH(lstm::Hdf5File::open("/nonexistent/model.h5"),
                    "/nonexistent/model.h5: cannot open it as an HDF5 file");
  lstm::Hdf5Writer w;
  w.dataset("/d", {4}, {1, 2, 3, 4});
  const std::string bytes = w.bytes();
  EXPECT_ERROR_WITH(lstm::Hdf5File::from_bytes(bytes.substr(0, bytes.size() / 2), "cut.h5"), "cut.h5");
  EXPECT_TRUE(no_children());
}

// Two files found by fuzz_keras (tests/fuzz/corpus/keras/): one on which Debian 12's libhdf5
// reads past its own heap buffer, one on which it loops without end. Here: clear errors, in time,
// and this process untouched (the ASan run of this test would catch an over-read in it).
TEST(Hdf5File, FilesThatBreakLibhdf5AreErrorsHere) {
  const std::string dir = std::string(LSTM_SOURCE_DIR) + "/tests/fuzz/corpus/keras/";
  EXPECT_ERROR_WITH(lstm::load_keras_model(dir + "libhdf5-h5o-attr-overread.h5"), "libhdf5-h5o-attr-overread.h5");
  lstm::hdf5_set_deadline(0.5);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR_WITH(lstm::load_keras_model(dir + "libhdf5-endless-vlen-string.h5"),
                    "libhdf5 took more than 0.5 s (killed) reading it");
  lstm::hdf5_set_deadline(30);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  EXPECT_TRUE(no_children());
}
