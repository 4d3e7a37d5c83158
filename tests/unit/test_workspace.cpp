// The working memory planned in one place (layers/workspace.h): an arena binds the pieces it
// measured; a layer's plan is its equations' buffers; fit() plans every batch before the first;
// a larger batch later plans again and computes the same.
#include <gtest/gtest.h>

#include <cstdint>

#include "graph/model_impl.h"
#include "layers/workspace.h"
#include "lstm/lstm.h"
#include "test_util.h"

namespace lstm {
namespace {

int64_t aligned(int64_t n) { return (n + Arena::kAlign - 1) / Arena::kAlign * Arena::kAlign; }

TEST(Workspace, ArenaBindsThePiecesItMeasured) {
  float* a = nullptr;
  float* b = nullptr;
  float* g = nullptr;
  auto declare = [&](Workspace& ws) {
    a = ws.kept.take(5), b = ws.kept.take(40), g = ws.grad.take(3);
  };
  Workspace measure;
  declare(measure);
  EXPECT_EQ(a, nullptr);
  EXPECT_EQ(measure.kept.floats(), aligned(5) + aligned(40));
  EXPECT_EQ(measure.grad.floats(), aligned(3));

  WorkspaceStorage storage;
  storage.plan(declare, /*with_grad=*/false);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(g, nullptr);  // no backward planned: no gradient pieces
  EXPECT_EQ(b - a, aligned(5));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(storage.kept_bytes(), 4 * (aligned(5) + aligned(40)));
  EXPECT_EQ(storage.grad_bytes(), 0);
  for (int k = 0; k < 40; ++k) b[k] = float(k);
  // Adding the gradients later keeps what was kept where it was.
  float* const a_before = a;
  storage.plan(declare, /*with_grad=*/true);
  EXPECT_EQ(a, a_before);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(b[39], 39.0f);
  EXPECT_EQ(storage.grad_bytes(), 4 * aligned(3));

  Workspace hostile;
  EXPECT_THROW(hostile.kept.take(-1), Error);
  EXPECT_THROW(hostile.kept.take(limits::kPlanFloats + 1), Error);
}

// The seed's model: LSTM(H) over (T, F), Dense(1). Its plan is the buffers of its equations.
TEST(Workspace, TheSeedsModelPlansItsEquationsBuffers) {
  const int64_t T = 7, F = 3, H = 5, B = 4;
  Sequential model;
  model.add(LSTM(int(H), {.input_shape = {T, F}}));
  model.add(Dense(1));
  model.compile(Adam(), loss::mse);
  const std::vector<MemoryRow> rows = model.memory_plan(B, T);
  ASSERT_EQ(rows.size(), 3u);
  // LSTM: gates (T, B, 4H), h and c (T+1, B, H) kept; dgates (T, B, 4H), dh and dc (B, H),
  // and ∂L/∂h per step (T, B, H), since a Sequential takes lengths: a row's last gradient then
  // enters at its own last step
  EXPECT_EQ(rows[0].forward_bytes, 4 * (aligned(T * B * 4 * H) + 2 * aligned((T + 1) * B * H)));
  EXPECT_EQ(rows[0].backward_bytes,
            4 * (aligned(T * B * 4 * H) + 2 * aligned(B * H) + aligned(T * B * H)));
  // Dense on the last h: ∂L/∂z (B, 1)
  EXPECT_EQ(rows[1].forward_bytes, 0);
  EXPECT_EQ(rows[1].backward_bytes, 4 * aligned(B));
  // the tensors: x (T, B, F), h_T (B, H), y (B, 1), the targets (B, 1); gradients of h_T and
  // y, and one scratch gradient as large as any call's first input
  EXPECT_EQ(rows[2].layer, "(tensors between layers)");
  EXPECT_EQ(rows[2].forward_bytes, 4 * (aligned(T * B * F) + aligned(B * H) + 2 * aligned(B)));
  EXPECT_EQ(rows[2].backward_bytes, 4 * (aligned(B * H) + aligned(B) + aligned(T * B * F)));
  EXPECT_THROW(model.memory_plan(0, T), Error);
}

struct PlanSeen : Callback {
  Model* model = nullptr;
  int64_t bytes_at_begin = 0;
  void on_train_begin(Trainable&) override {
    bytes_at_begin = model->impl().memory.kept_bytes() + model->impl().memory.grad_bytes();
  }
};

int64_t total(const std::vector<MemoryRow>& rows) {
  int64_t n = 0;
  for (const MemoryRow& r : rows) n += r.forward_bytes + r.backward_bytes;
  return n;
}

TEST(Workspace, FitPlansEveryBatchBeforeTheFirstAndALargerOneAgain) {
  const int64_t N = 30, T = 6, Tv = 9, F = 2;
  auto x = Input({kAnyLength, F});
  auto h = Bidirectional(LSTM(4, {.return_sequences = true, .dropout = 0.2f}))(x);
  auto y = Dense(1)(GRU(3)(Dropout(0.1f)(h)));
  Model model(x, y, {.seed = 2});
  model.compile(Adam(), loss::mse);
  auto seen = std::make_shared<PlanSeen>();
  seen->model = &model;
  const Tensor X = test::random_tensor({N, T, F}, 1), Y = test::random_tensor({N, 1}, 2);
  const Tensor Xv = test::random_tensor({12, Tv, F}, 3), Yv = test::random_tensor({12, 1}, 4);
  model.fit({X}, {Y}, {.epochs = 2, .batch_size = 8, .validation_x = Xv, .validation_y = Yv,
                       .callbacks = {seen}, .verbose = 0});
  // planned for batches of 8 with the validation data's longer steps, before the first batch,
  // and never grown after
  const int64_t planned = total(model.memory_plan(8, Tv));
  EXPECT_EQ(seen->bytes_at_begin, planned);
  EXPECT_EQ(model.impl().memory.kept_bytes() + model.impl().memory.grad_bytes(), planned);
  // A larger batch plans again (kept only: predict has no backward) and computes the same.
  const Tensor one_by_one = model.predict({X}, 1)[0];
  const Tensor all_at_once = model.predict({X}, int(N))[0];
  for (int64_t k = 0; k < N; ++k) EXPECT_NEAR(all_at_once[k], one_by_one[k], 1e-6f) << k;
  EXPECT_GT(model.impl().memory.kept_bytes(), 0);
  EXPECT_EQ(model.impl().plan_B, N);
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// A shape too large to plan is refused with the fix, and the plan in hand stays usable.
TEST(Workspace, AShapeTooLargeIsRefusedAndThePlanInHandStays) {
  auto q = Input({kAnyLength, 4});
  auto v = Input({kAnyLength, 4});
  auto y = Dense(1)(GRU(3)(Attention()({q, v})));
  Model model({q, v}, y, {.seed = 1});
  model.compile(Adam(), loss::mse);
  const Tensor Q = test::random_tensor({5, 6, 4}, 1), V = test::random_tensor({5, 7, 4}, 2);
  const Tensor before = model.predict({Q, V}, 5)[0];
  try {
    model.memory_plan(limits::kPlanShape, limits::kPlanShape);  // scores (B, Tq, Tv): 2^48 floats
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("use smaller batches or shorter sequences"), std::string::npos) << e.what();
  }
  const Tensor after = model.predict({Q, V}, 5)[0];
  for (int64_t k = 0; k < before.size(); ++k) EXPECT_EQ(after[k], before[k]);
}

}  // namespace
}  // namespace lstm
