// Streaming: step() equals predict() over the same sequence, reset_states() starts afresh, and
// after the first call step() allocates nothing at all. This binary interposes malloc and
// friends (and operator new) to count every allocation in the process, the libraries' included;
// under AddressSanitizer, which owns malloc, it counts operator new only.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#include "lstm/lstm.h"
#include "test_util.h"

namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
#define LSTM_COUNT_MALLOC 0
#else
#define LSTM_COUNT_MALLOC 1
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** p, size_t alignment, size_t n) {
  count();
  *p = __libc_memalign(alignment, n);
  return *p ? 0 : ENOMEM;
}
}
#endif

// operator new/delete on top of malloc/free, so that new is counted too under ASan.
void* operator new(size_t n) {
  count();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace lstm {
namespace {

Sequential streaming_model() {
  Sequential model({.seed = 11});
  model.add(LSTM(32, {.return_sequences = true, .input_shape = {0, 8}}));
  model.add(LSTM(16, {.return_sequences = true}));
  model.add(Dense(2, {.activation = Activation::tanh}));
  return model;
}

TEST(Stream, StepEqualsPredictOverTheSequence) {
  Sequential model = streaming_model();
  const int64_t T = 25;
  Tensor X = test::random_tensor({1, T, 8}, 4);
  Tensor whole = model.predict(X);  // [1, T, 2]
  for (int pass = 0; pass < 2; ++pass) {  // the second pass checks reset_states()
    model.reset_states();
    for (int64_t t = 0; t < T; ++t) {
      Tensor y = model.step(Tensor({8}, std::vector<float>(X.data() + t * 8, X.data() + t * 8 + 8)));
      EXPECT_NEAR(y[0], whole.at({0, t, 0}), 1e-5) << "step " << t;
      EXPECT_NEAR(y[1], whole.at({0, t, 1}), 1e-5) << "step " << t;
    }
  }
  EXPECT_ERROR_WITH(model.step(Tensor({3})), "takes the 8 features of one time step");
}

// Allocations counted over `steps` calls of step() on a model of 8 inputs and 2 outputs, after
// a first call (which may allocate the state).
static long allocations_after_the_first_step(Sequential& model, int steps) {
  std::vector<float> x(8, 0.25f), y(2);
  model.step(x.data(), y.data());
  g_allocations = 0;
  g_counting = true;
  for (int k = 0; k < steps; ++k) {
    x[size_t(k % 8)] = float(k % 13) / 13.0f;
    model.step(x.data(), y.data());
  }
  g_counting = false;
  return g_allocations.load();
}

// Inference in bf16 and int8 (Precision): predict near fp32 but not equal to it; step() gives
// what predict gives in that precision (to float rounding: the Dense head sums in another order
// over one row than over T); nothing allocated per step; saved and loaded with the model; back in
// fp32, predict is fp32's again; training stays fp32. Tolerances: weights of up to ~0.3 through
// two layers (bf16: 8 bits of mantissa; int8: 8 bits per row of weights and of each x and h).
void check_low_precision(Precision p, double tolerance) {
  SCOPED_TRACE(precision_name(p));
  Sequential model = streaming_model();
  const int64_t T = 25;
  Tensor X = test::random_tensor({1, T, 8}, 4);
  const Tensor fp32 = model.predict(X);
  EXPECT_EQ(model.set_precision(p), 2);  // both LSTM layers
  EXPECT_EQ(model.precision(), p);
  const Tensor low = model.predict(X);
  double diff = 0;
  for (int64_t k = 0; k < fp32.size(); ++k) diff = std::max(diff, double(std::fabs(fp32[k] - low[k])));
  EXPECT_GT(diff, 0.0);  // the low-precision kernels ran
  EXPECT_LT(diff, tolerance);
  model.reset_states();
  for (int64_t t = 0; t < T; ++t) {
    Tensor y = model.step(Tensor({8}, std::vector<float>(X.data() + t * 8, X.data() + t * 8 + 8)));
    EXPECT_NEAR(y[0], low.at({0, t, 0}), 1e-5) << "step " << t;
    EXPECT_NEAR(y[1], low.at({0, t, 1}), 1e-5) << "step " << t;
  }
  EXPECT_EQ(allocations_after_the_first_step(model, 500), 0);
  // saved with the model and applied when it loads; fp32 again: no key, fp32's outputs
  test::TempDir dir;
  model.save(dir.file("low.safetensors"));
  Sequential loaded = Sequential::load(dir.file("low.safetensors"));
  EXPECT_EQ(loaded.precision(), p);
  EXPECT_EQ(loaded.predict(X).storage(), low.storage());
  Sequential copy = loaded.clone();  // a clone keeps the precision with the weights
  EXPECT_EQ(copy.precision(), p);
  EXPECT_EQ(copy.predict(X).storage(), low.storage());
  model.set_precision(Precision::fp32);
  EXPECT_EQ(model.predict(X).storage(), fp32.storage());
  model.save(dir.file("fp32.safetensors"));
  EXPECT_EQ(Sequential::load(dir.file("fp32.safetensors")).metadata().count("lstm.precision"), 0u);
  loaded.metadata()["lstm.precision"] = "int3";  // a file that names no precision: a clear error
  loaded.save(dir.file("bad.safetensors"));
  EXPECT_ERROR_WITH(Sequential::load(dir.file("bad.safetensors")), "\"lstm.precision\" metadata: precision 'int3'");
  // token input (an Embedding feeding the LSTM its table's rows): the same, and fit trains in
  // fp32 whatever the inference precision (the same weights as a twin that never left fp32)
  auto tokens = [] {
    Sequential m({.seed = 3});
    m.add(Embedding(10, 8, {.input_shape = {6}}));
    m.add(LSTM(16));
    m.add(Dense(1));
    m.compile(Adam(), loss::mse);
    return m;
  };
  Sequential a = tokens(), b = tokens();
  Tensor ids({4, 6});
  for (int64_t k = 0; k < ids.size(); ++k) ids[k] = float((k * 7) % 10);
  const Tensor target = test::random_tensor({4, 1}, 8);
  const Tensor p32 = a.predict(ids);
  a.set_precision(p);
  const Tensor p16 = a.predict(ids);
  double tdiff = 0;
  for (int64_t k = 0; k < p32.size(); ++k) tdiff = std::max(tdiff, double(std::fabs(p32[k] - p16[k])));
  EXPECT_GT(tdiff, 0.0);
  EXPECT_LT(tdiff, tolerance);
  a.fit(ids, target, {.epochs = 2, .batch_size = 2, .verbose = 0});
  b.fit(ids, target, {.epochs = 2, .batch_size = 2, .verbose = 0});
  EXPECT_EQ(a.get_weights(), b.get_weights());
  // a model without the seed's cell refuses bf16, naming why
  Sequential gru({.seed = 1});
  gru.add(GRU(4, {.input_shape = {0, 2}}));
  EXPECT_ERROR_WITH(gru.set_precision(p), "needs an LSTM layer with the seed's cell");
  EXPECT_ERROR_WITH(precision_from_string("int4"), "not one of fp32, bf16, int8");
}

TEST(Stream, LowPrecisionPredictAndStepAgreeAndStayNearFp32) {
  check_low_precision(Precision::bf16, 2e-2);
  check_low_precision(Precision::int8, 1e-2);
}

TEST(Stream, NoAllocationAfterTheFirstStep) {
  Sequential model = streaming_model();
  EXPECT_EQ(allocations_after_the_first_step(model, 2000), 0)
      << "step() allocated (malloc counted: " << LSTM_COUNT_MALLOC << ")";
  // The counter works: an allocation while counting is seen.
  g_counting = true;
  std::vector<float>* probe = new std::vector<float>(100);
  g_counting = false;
  delete probe;
  EXPECT_GE(g_allocations.load(), 1);
}

// The other cells stream through their own step kernels (GRU, SimpleRNN) or their sequence code
// at T = B = 1 (the general LSTM: sequence_driver.h): those allocate nothing after the first step
// either, the GEMM library's included.
TEST(Stream, EveryCellStepsWithoutAllocating) {
  for (LayerConfig first : std::vector<LayerConfig>{
           GRU(32, {.return_sequences = true, .input_shape = {0, 8}}),
           SimpleRNN(32, {.return_sequences = true, .input_shape = {0, 8}}),
           LSTM(32, {.return_sequences = true, .proj_size = 8, .use_peepholes = true,
                     .input_shape = {0, 8}})}) {
    SCOPED_TRACE(layer_type_name(first.type));
    Sequential model({.seed = 12});
    model.add(first);
    model.add(Dense(2));
    EXPECT_EQ(allocations_after_the_first_step(model, 500), 0)
        << "step() allocated (malloc counted: " << LSTM_COUNT_MALLOC << ")";
  }
}

// A graph of two inputs streams the same way, without allocating after its first step.
TEST(Stream, GraphStepEqualsPredictAndAllocatesNothing) {
  auto a = Input({12, 3}, {.name = "a"});  // Add joins them step by step: one length
  auto ids = Input({12}, {.name = "ids"});
  auto left = LSTM(8, {.return_sequences = true})(a);
  auto right = GRU(8, {.return_sequences = true})(Embedding(10, 4)(ids));
  auto joined = LayerNormalization()(Add()({left, right}));
  auto y = Dense(2, {.activation = Activation::tanh})(Concatenate()({joined, left}));
  Model model({a, ids}, {y, SimpleRNN(3)(joined)}, {.seed = 5});
  const int64_t T = 12;
  const Tensor xa = test::random_tensor({1, T, 3}, 8);
  Tensor xi({1, T});
  for (int64_t t = 0; t < T; ++t) xi[t] = float((t * 7) % 10);
  const std::vector<Tensor> whole = model.predict({xa, xi});  // [1, T, 2] and [1, 3]
  for (int pass = 0; pass < 2; ++pass) {  // the second pass checks reset_states()
    model.reset_states();
    for (int64_t t = 0; t < T; ++t) {
      const Tensor at({3}, std::vector<float>(xa.data() + t * 3, xa.data() + t * 3 + 3));
      const Tensor it({1}, std::vector<float>{xi[t]});
      const std::vector<Tensor> out = model.step({at, it});
      EXPECT_NEAR(out[0][0], whole[0].at({0, t, 0}), 1e-5) << "step " << t;
      EXPECT_NEAR(out[0][1], whole[0].at({0, t, 1}), 1e-5) << "step " << t;
      if (t == T - 1) {  // the vector output: the state after the last step
        for (int64_t k = 0; k < 3; ++k) EXPECT_NEAR(out[1][k], whole[1][k], 1e-5);
      }
    }
  }
  std::vector<float> x(3, 0.5f), id(1, 3.0f), y0(2), y1(3);
  const std::vector<const float*> in = {x.data(), id.data()};
  const std::vector<float*> out = {y0.data(), y1.data()};
  model.step(in, out);
  g_allocations = 0;
  g_counting = true;
  for (int k = 0; k < 1000; ++k) {
    x[size_t(k % 3)] = float(k % 13) / 13.0f;
    id[0] = float(k % 10);
    model.step(in, out);
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0) << "Model::step allocated (malloc counted: " << LSTM_COUNT_MALLOC << ")";
  // a recurrent call with return_state streams its states after each step (the seed's cell
  // on the fused kernels, and the general LSTM)
  for (bool peepholes : {false, true}) {
    auto q = Input({kAnyLength, 3}, {.name = "q"});
    auto [seq_q, h_q, c_q] =
        LSTM(4, {.return_sequences = true, .return_state = true, .use_peepholes = peepholes})(q);
    Model states(q, {seq_q, h_q, c_q});
    const std::vector<Tensor> full = states.predict(xa);
    std::vector<Tensor> last;
    for (int64_t t = 0; t < T; ++t) {
      const Tensor at({3}, std::vector<float>(xa.data() + t * 3, xa.data() + t * 3 + 3));
      last = states.step(at);
    }
    for (int64_t k = 0; k < 4; ++k) {
      EXPECT_NEAR(last[1][k], full[1][k], 1e-5) << "h, peepholes " << peepholes;
      EXPECT_NEAR(last[2][k], full[2][k], 1e-5) << "c, peepholes " << peepholes;
    }
  }
  // what cannot stream says which layer and why
  auto s = Input({kAnyLength, 3}, {.name = "s"});
  Model bidir(s, Bidirectional(LSTM(2))(s));
  const Tensor three({3}), two({2}), one({1});
  EXPECT_ERROR_WITH(bidir.step(three), "layer 'bidirectional' (bidirectional) needs whole sequences");
  EXPECT_ERROR_WITH(model.step({two, one}), "input 'a' takes the 3 features of one time step");
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// Generation: a character model's step() and the Sampler draw each next token without
// allocating (lstm text sample's loop).
TEST(Stream, GeneratingTextAllocatesNothing) {
  const int64_t V = 40;
  Sequential model({.seed = 3});
  model.add(Embedding(V, 16, {.input_shape = {10}}));
  model.add(LSTM(32, {.return_sequences = true}));
  model.add(TimeDistributed(Dense(int(V), {.activation = Activation::softmax})));
  Sampler sampler(V, {.temperature = 0.8f, .top_k = 10, .top_p = 0.9f, .seed = 1});
  std::vector<float> probs(static_cast<size_t>(V));
  float token = 2.0f;
  model.step(&token, probs.data());
  g_allocations = 0;
  g_counting = true;
  for (int k = 0; k < 2000; ++k) {
    token = float(sampler.next(probs));
    model.step(&token, probs.data());
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
}

}  // namespace
}  // namespace lstm
