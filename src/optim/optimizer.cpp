// SGD, Adam, AdamW and RMSprop as flat loops (optimizer.h, include/lstm/optim.h).
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include "core/threads.h"
#include "lstm/error.h"

namespace lstm {

Optimizer SGD(SGDOptions o) {
  Optimizer opt;
  opt.kind = OptimizerKind::sgd;
  opt.learning_rate = o.learning_rate;
  opt.momentum = o.momentum;
  opt.nesterov = o.nesterov;
  opt.global_clipnorm = o.global_clipnorm;
  opt.clipvalue = o.clipvalue;
  opt.schedule = o.schedule;
  return opt;
}

Optimizer Adam(AdamOptions o) {
  Optimizer opt;
  opt.kind = OptimizerKind::adam;
  opt.learning_rate = o.learning_rate;
  opt.beta_1 = o.beta_1;
  opt.beta_2 = o.beta_2;
  opt.epsilon = o.epsilon;
  opt.global_clipnorm = o.global_clipnorm;
  opt.clipvalue = o.clipvalue;
  opt.schedule = o.schedule;
  return opt;
}

Optimizer AdamW(AdamWOptions o) {
  Optimizer opt = Adam({o.learning_rate, o.beta_1, o.beta_2, o.epsilon, o.global_clipnorm,
                        o.clipvalue, o.schedule});
  opt.kind = OptimizerKind::adamw;
  opt.weight_decay = o.weight_decay;
  return opt;
}

Optimizer RMSprop(RMSpropOptions o) {
  Optimizer opt;
  opt.kind = OptimizerKind::rmsprop;
  opt.learning_rate = o.learning_rate;
  opt.rho = o.rho;
  opt.momentum = o.momentum;
  opt.epsilon = o.epsilon;
  opt.global_clipnorm = o.global_clipnorm;
  opt.clipvalue = o.clipvalue;
  opt.schedule = o.schedule;
  return opt;
}

LearningRateSchedule ExponentialDecay(int64_t decay_steps, float decay_rate, bool staircase) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::Kind::exponential;
  s.decay_steps = decay_steps, s.decay_rate = decay_rate, s.staircase = staircase;
  return s;
}

LearningRateSchedule CosineDecay(int64_t decay_steps, float alpha) {
  LearningRateSchedule s;
  s.kind = LearningRateSchedule::Kind::cosine;
  s.decay_steps = decay_steps, s.alpha = alpha;
  return s;
}

float scheduled_learning_rate(const Optimizer& o, int64_t step) {
  const LearningRateSchedule& s = o.schedule;
  const double t = double(step), D = double(s.decay_steps);
  switch (s.kind) {
    case LearningRateSchedule::Kind::constant: return o.learning_rate;
    case LearningRateSchedule::Kind::exponential:
      return float(o.learning_rate * std::pow(double(s.decay_rate), s.staircase ? std::floor(t / D) : t / D));
    case LearningRateSchedule::Kind::cosine: {
      const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * std::min(t, D) / D));
      return float(o.learning_rate * ((1.0 - s.alpha) * cosine + s.alpha));
    }
  }
  return o.learning_rate;
}

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adam: return "adam";
    case OptimizerKind::adamw: return "adamw";
    case OptimizerKind::rmsprop: return "rmsprop";
  }
  return "?";
}

Optimizer optimizer_from_name(const std::string& name) {
  if (name == "sgd") return SGD();
  if (name == "adam") return Adam();
  if (name == "adamw") return AdamW();
  if (name == "rmsprop") return RMSprop();
  throw Error("unknown optimizer '" + name + "': use one of adam, adamw, sgd, rmsprop");
}

void optimizer_check(const Optimizer& o) {
  auto bad = [](const std::string& what, double v, const char* want) {
    throw Error("optimizer setting " + what + " = " + std::to_string(v) + " is out of range: it " +
                want);
  };
  if (!(o.learning_rate > 0.0f) || !std::isfinite(o.learning_rate))
    bad("learning_rate", o.learning_rate, "must be a positive number");
  if (!(o.beta_1 >= 0.0f && o.beta_1 < 1.0f)) bad("beta_1", o.beta_1, "must be in [0, 1)");
  if (!(o.beta_2 >= 0.0f && o.beta_2 < 1.0f)) bad("beta_2", o.beta_2, "must be in [0, 1)");
  if (!(o.epsilon >= 0.0f)) bad("epsilon", o.epsilon, "must be >= 0");
  if (!(o.momentum >= 0.0f && o.momentum < 1.0f)) bad("momentum", o.momentum, "must be in [0, 1)");
  if (!(o.rho >= 0.0f && o.rho < 1.0f)) bad("rho", o.rho, "must be in [0, 1)");
  if (!(o.weight_decay >= 0.0f)) bad("weight_decay", o.weight_decay, "must be >= 0");
  if (!(o.global_clipnorm >= 0.0f)) bad("global_clipnorm", o.global_clipnorm, "must be >= 0 (0 = off)");
  if (!(o.clipvalue >= 0.0f)) bad("clipvalue", o.clipvalue, "must be >= 0 (0 = off)");
  if (o.schedule.kind != LearningRateSchedule::Kind::constant && o.schedule.decay_steps <= 0)
    throw Error("the learning-rate schedule needs decay_steps > 0, got " +
                std::to_string(o.schedule.decay_steps));
  if (o.schedule.kind == LearningRateSchedule::Kind::exponential &&
      !(o.schedule.decay_rate > 0.0f && std::isfinite(o.schedule.decay_rate)))
    bad("schedule decay_rate", o.schedule.decay_rate, "must be a positive number");
  if (o.schedule.kind == LearningRateSchedule::Kind::cosine &&
      !(o.schedule.alpha >= 0.0f && o.schedule.alpha <= 1.0f))
    bad("schedule alpha", o.schedule.alpha, "must be in [0, 1]");
  if (o.nesterov && o.momentum == 0.0f)
    throw Error("nesterov momentum needs momentum > 0: set momentum (e.g. 0.9) or drop nesterov");
}

Optimizer with_learning_rate(Optimizer o, float learning_rate) {
  o.learning_rate = learning_rate;
  optimizer_check(o);
  return o;
}

// The loops over every parameter run on all threads when there are enough of them
// (threads_for_elements); the norm's sum goes by fixed chunks added in order, so results do not
// depend on the thread count.
constexpr int64_t kNormChunk = 4096;

bool all_finite(const float* p, int64_t n) {
  // |x| as bits: NaN and Inf are the values at or above 0x7f800000. An integer max, so the
  // loop vectorises (a float reduction would not, without reassociation).
  uint32_t worst = 0;
  for (int64_t k = 0; k < n; ++k) {
    uint32_t bits;
    std::memcpy(&bits, p + k, sizeof bits);
    bits &= 0x7fffffffu;
    worst = bits > worst ? bits : worst;
  }
  return worst < 0x7f800000u;
}

// The gradients' global L2 norm: fixed chunks, each summed in double on 16 lanes (element k of
// the chunk on lane k mod 16: independent sums, so the loop vectorises), the lanes and then the
// chunks added in order - the same sum at any thread count.
static double global_norm(const float* grads, int64_t n) {
  constexpr int kLanes = 16;
  static_assert(kNormChunk % kLanes == 0);
  std::vector<double> part(size_t((n + kNormChunk - 1) / kNormChunk), 0.0);
#pragma omp parallel for num_threads(threads_for_elements(n)) schedule(static)
  for (int64_t c = 0; c < int64_t(part.size()); ++c) {
    double lane[kLanes] = {};
    const int64_t begin = c * kNormChunk, end = std::min(n, begin + kNormChunk);
    int64_t k = begin;
    for (; k + kLanes <= end; k += kLanes)
      for (int l = 0; l < kLanes; ++l) lane[l] += double(grads[k + l]) * double(grads[k + l]);
    for (int l = 0; k < end; ++k, ++l) lane[l] += double(grads[k]) * double(grads[k]);
    double sq = 0.0;
    for (double v : lane) sq += v;
    part[size_t(c)] = sq;
  }
  double sq = 0.0;
  for (double v : part) sq += v;
  return std::sqrt(sq);
}

// The factor clip_by_global_norm scales by (1: none).
static double clip_factor(double norm, double max_norm) {
  const double coef = max_norm / (norm + 1e-6);
  return coef < 1.0 ? coef : 1.0;
}

double clip_by_global_norm(float* grads, int64_t n, double max_norm) {
  const double norm = global_norm(grads, n), coef = clip_factor(norm, max_norm);
  if (coef < 1.0)
#pragma omp parallel for num_threads(threads_for_elements(n)) schedule(static)
    for (int64_t k = 0; k < n; ++k) grads[k] = float(grads[k] * coef);
  return norm;
}

namespace {

struct AdamStep {
  float b1, b2, bc2_sqrt, step_size, decay, epsilon;
  double coef;  // global-norm clipping (1: none)
};

// Adam on elements begin..end; returns the largest |p| after it as bits (as all_finite). The
// loop is built three times - AVX-512, AVX2, the baseline - and the best the CPU has is chosen
// when the library loads; contraction is off for this file (CMakeLists.txt), so every version
// gives the same bits.
__attribute__((target_clones("avx512f", "avx2", "default")))
uint32_t adam_range(const AdamStep& a, float* p, float* m, float* v, const float* g, int64_t begin, int64_t end) {
  const float b1 = a.b1, b2 = a.b2, bc2_sqrt = a.bc2_sqrt, step_size = a.step_size, decay = a.decay,
              eps = a.epsilon;
  const double coef = a.coef;
  const bool clip = coef < 1.0;
  uint32_t worst = 0;
  for (int64_t k = begin; k < end; ++k) {
    const float gk = clip ? float(g[k] * coef) : g[k];
    p[k] *= decay;
    m[k] = b1 * m[k] + (1.0f - b1) * gk;
    v[k] = b2 * v[k] + (1.0f - b2) * gk * gk;
    p[k] -= step_size * m[k] / (std::sqrt(v[k]) / bc2_sqrt + eps);
    uint32_t bits;
    std::memcpy(&bits, p + k, sizeof bits);
    bits &= 0x7fffffffu;
    worst = bits > worst ? bits : worst;
  }
  return worst;
}

}  // namespace

StepCheck optimizer_step(const Optimizer& o, OptimizerState& s, float* p, float* g, int64_t n) {
  StepCheck check;
  double coef = 1.0;  // global-norm clipping: Adam applies it in its loop, the others here
  if (o.global_clipnorm > 0.0f) {
    const double norm = global_norm(g, n);
    check.grads_finite = std::isfinite(norm);
    coef = check.grads_finite ? clip_factor(norm, o.global_clipnorm) : 1.0;
  } else {
    check.grads_finite = all_finite(g, n);
  }
  const bool adam = o.kind == OptimizerKind::adam || o.kind == OptimizerKind::adamw;
  if (coef < 1.0 && (!adam || o.clipvalue > 0.0f)) {
#pragma omp parallel for num_threads(threads_for_elements(n)) schedule(static)
    for (int64_t k = 0; k < n; ++k) g[k] = float(g[k] * coef);
    coef = 1.0;
  }
  if (o.clipvalue > 0.0f)
    for (int64_t k = 0; k < n; ++k) g[k] = std::clamp(g[k], -o.clipvalue, o.clipvalue);
  s.m.resize(size_t(n), 0.0f);  // no-ops after the first step
  s.v.resize(size_t(n), 0.0f);
  const float lr = scheduled_learning_rate(o, s.step);  // update s.step, counting from 0
  ++s.step;
  float* m = s.m.data();
  float* v = s.v.data();
  switch (o.kind) {
    case OptimizerKind::sgd:
      for (int64_t k = 0; k < n; ++k) {
        if (o.momentum == 0.0f) {
          p[k] -= lr * g[k];
        } else {
          m[k] = o.momentum * m[k] + g[k];
          p[k] -= lr * (o.nesterov ? g[k] + o.momentum * m[k] : m[k]);
        }
      }
      break;
    case OptimizerKind::adam:
    case OptimizerKind::adamw: {
      AdamStep a;
      a.b1 = o.beta_1, a.b2 = o.beta_2;
      a.bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(a.b2), double(s.step))));
      a.step_size = lr / float(1.0 - std::pow(double(a.b1), double(s.step)));
      a.decay = o.kind == OptimizerKind::adamw ? 1.0f - lr * o.weight_decay : 1.0f;
      a.epsilon = o.epsilon, a.coef = coef;
      uint32_t worst = 0;  // the largest |p| as bits, as all_finite
#pragma omp parallel num_threads(threads_for_elements(n)) reduction(max : worst)
      {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        worst = adam_range(a, p, m, v, g, n * t / nt, n * (t + 1) / nt);
      }
      check.params_finite = worst < 0x7f800000u;
      return check;
    }
    case OptimizerKind::rmsprop:
      for (int64_t k = 0; k < n; ++k) {
        v[k] = o.rho * v[k] + (1.0f - o.rho) * g[k] * g[k];
        float u = g[k] / (std::sqrt(v[k]) + o.epsilon);
        if (o.momentum > 0.0f) {
          m[k] = o.momentum * m[k] + u;
          p[k] -= lr * m[k];
        } else {
          p[k] -= lr * u;
        }
      }
      break;
  }
  check.params_finite = all_finite(p, n);
  return check;
}

}  // namespace lstm
