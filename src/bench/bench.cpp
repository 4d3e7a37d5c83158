// `lstm bench` (bench.h): times lstm_forward / lstm_backward on preallocated buffers.
// T = time steps, B = batch, I = input, H = hidden, 4H = fused gates, L = layers.
#include "bench/bench.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/rng.h"
#include "core/threads.h"
#include "kernels/lstm_step.h"
#include "kernels/lstm_step_bf16.h"
#include "kernels/lstm_step_int8.h"
#include "layers/lstm_cell.h"
#include "lstm/error.h"

namespace lstm {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

double bench_rate(const std::function<void()>& f, double seconds, int windows) {
  const double w0 = now();
  for (int k = 0; k < 3; ++k) f();
  // Calls in groups of about 20 µs between clock reads: a read costs about 20 ns, which is a
  // quarter of a streaming step at H = 8 when read after every call.
  const double per_call = (now() - w0) / 3.0;
  const int64_t group = std::clamp<int64_t>(int64_t(20e-6 / std::max(per_call, 1e-9)), 1, 100000);
  double best = 0;
  for (int w = 0; w < windows; ++w) {
    int64_t n = 0;
    double t0 = now(), t = t0;
    do {
      for (int64_t k = 0; k < group; ++k) f();
      n += group;
      t = now();
    } while (t - t0 < seconds);
    best = std::max(best, double(n) / (t - t0));
  }
  return best;
}

namespace {

// One layer's weights, activations and gradients, all allocated up front.
struct LayerBuffers {
  int64_t I, H;
  int64_t cur = 0;  // stream: the slot of h_{t-1}, c_{t-1}
  std::vector<float> w_ih, w_hh, bias, gates, h, c;     // weights; (T,B,4H), (T+1,B,H) x 2
  std::vector<float> dw_ih, dw_hh, dbias, dgates, dh, dc, dx, out_grad;
  LayerBuffers(int64_t I, int64_t H, int64_t B, int64_t T, bool train, Rng& rng)
      : I(I), H(H), w_ih(size_t(4 * H * I)), w_hh(size_t(4 * H * H)), bias(size_t(4 * H)),
        gates(size_t(T * B * 4 * H)), h(size_t((T + 1) * B * H)), c(size_t((T + 1) * B * H)) {
    for (float& v : w_ih) v = rng.uniform(-0.1f, 0.1f);
    for (float& v : w_hh) v = rng.uniform(-0.1f, 0.1f);
    if (!train) return;
    dw_ih.resize(w_ih.size()), dw_hh.resize(w_hh.size()), dbias.resize(bias.size());
    dgates.resize(gates.size()), dh.resize(size_t(B * H)), dc.resize(size_t(B * H));
    dx.resize(size_t(T * B * I)), out_grad.resize(size_t(T * B * H));
    for (float& v : out_grad) v = rng.uniform(-0.01f, 0.01f);
  }
  std::vector<float> packed, packed_bwd, packed_step;  // as the layer keeps them
  std::vector<uint16_t> packed_bf16;                   // bf16: W_ih and W_hh
  std::vector<uint32_t> x_pairs, h_pairs;              // bf16 stream: the step's inputs as pairs
  std::vector<int8_t> packed_int8;                     // int8: W_ih and W_hh, their scales, comp
  std::vector<float> int8_scales;
  std::vector<int32_t> int8_comp;
  std::vector<uint8_t> x_bytes, h_bytes;               // int8 stream: the step's inputs quantised
  std::vector<float> x_scales, h_scales;
  LstmInt8Weights int8() const { return {packed_int8.data(), int8_scales.data(), int8_comp.data()}; }
  void pack(bool train, bool stream, bool bf16 = false, bool int8 = false) {
    if (int8) {
      packed_int8.resize(size_t(lstm_packed_forward_int8_size(I, H)));
      int8_scales.resize(size_t(8 * H)), int8_comp.resize(size_t(8 * H));
      lstm_pack_forward_int8(w_ih.data(), I, w_hh.data(), H, packed_int8.data(), int8_scales.data(),
                             int8_comp.data());
      return;
    }
    if (bf16) {
      packed_bf16.resize(size_t(lstm_packed_forward_bf16_size(I, H)));
      lstm_pack_forward_bf16(w_ih.data(), I, w_hh.data(), H, packed_bf16.data());
      return;
    }
    if (stream) {
      packed_step.resize(size_t(lstm_packed_forward_size(I, H)));
      lstm_pack_forward(w_ih.data(), I, w_hh.data(), H, packed_step.data());
      return;
    }
    packed.resize(size_t(lstm_packed_forward_size(0, H)));
    lstm_pack_forward(nullptr, 0, w_hh.data(), H, packed.data());
    if (!train) return;
    packed_bwd.resize(size_t(lstm_packed_backward_size(H)));
    lstm_pack_backward(w_hh.data(), H, packed_bwd.data());
  }
  LstmWeights weights() const {
    return {w_ih.data(), w_hh.data(), bias.data(), packed.data(), packed_bwd.data()};
  }
  LstmActivations acts() { return {gates.data(), h.data(), c.data()}; }
};

}  // namespace

BenchResult run_bench(const BenchShape& s, int threads, double seconds, int windows) {
  if (s.I < 1 || s.H < 1 || s.L < 1 || s.B < 1 || s.T < 1)
    throw Error("bench shape I,H,L,B,T must all be >= 1");
  if (s.mode != "train" && s.mode != "infer" && s.mode != "stream")
    throw Error("bench mode '" + s.mode + "' is not one of train, infer, stream");
  if (!s.variant.empty()) return run_layer_bench(s, threads, seconds, windows);
  if (s.precision != "fp32" && s.precision != "bf16" && s.precision != "int8")
    throw Error("bench precision '" + s.precision + "' is not one of fp32, bf16, int8");
  if (s.precision != "fp32" && (s.mode == "train" || !s.variant.empty()))
    throw Error("bench precision " + s.precision + " times inference (modes infer and stream) of the LSTM kernels alone");
  set_num_threads(threads);
  const bool train = s.mode == "train", stream = s.mode == "stream", bf16 = s.precision == "bf16";
  const bool int8 = s.precision == "int8";
  const int64_t T = stream ? 1 : s.T, B = s.B;
  Rng rng(1);
  std::vector<LayerBuffers> layers;
  for (int64_t l = 0; l < s.L; ++l) layers.emplace_back(l == 0 ? s.I : s.H, s.H, B, T, train, rng);
  std::vector<float> x(size_t(T * B * s.I));
  for (float& v : x) v = rng.uniform(-1, 1);
  std::function<void()> call;
  for (LayerBuffers& lb : layers) lb.pack(train, stream, bf16, int8);  // inference: packed once, outside
  if (train) {
    call = [&] {
      const float* in = x.data();
      for (LayerBuffers& lb : layers) {
        lb.pack(true, false);  // training packs after every weight update: timed
        LstmActivations a = lb.acts();
        lstm_forward({T, B, lb.I, lb.H}, lb.weights(), in, a);
        in = lb.h.data() + B * lb.H;  // h_1..h_T feed the next layer
      }
      for (int64_t l = s.L - 1; l >= 0; --l) {
        LayerBuffers& lb = layers[size_t(l)];
        const float* in_l = l == 0 ? x.data() : layers[size_t(l - 1)].h.data() + B * s.H;
        const float* dh_seq = l == s.L - 1 ? lb.out_grad.data() : layers[size_t(l + 1)].dx.data();
        LstmBackwardWork work{lb.dgates.data(), lb.dh.data(), lb.dc.data()};
        LstmGrads g{lb.dw_ih.data(), lb.dw_hh.data(), lb.dbias.data()};
        lstm_backward({T, B, lb.I, lb.H}, lb.weights(), in_l, lb.acts(), dh_seq, nullptr, nullptr,
                      work, g, lb.dx.data(), nullptr, nullptr);
      }
    };
  } else {
    call = [&] {
      const float* in = x.data();
      for (LayerBuffers& lb : layers) {
        if (stream && int8) {  // the same with int8 weights: x and h_{t-1} quantised first
          const int64_t prev = lb.cur * B * lb.H, next = (1 - lb.cur) * B * lb.H;
          const int64_t Qx = (lb.I + 3) / 4 * 4, Qh = (lb.H + 3) / 4 * 4;
          lb.x_bytes.resize(size_t(B * Qx)), lb.h_bytes.resize(size_t(B * Qh));
          lb.x_scales.resize(size_t(B)), lb.h_scales.resize(size_t(B));
          for (int64_t b = 0; b < B; ++b) {
            lb.x_scales[size_t(b)] = lstm_quantize_u8(in + b * lb.I, lb.I, lb.x_bytes.data() + b * Qx);
            lb.h_scales[size_t(b)] =
                lstm_quantize_u8(lb.h.data() + prev + b * lb.H, lb.H, lb.h_bytes.data() + b * Qh);
          }
          const LstmInt8Weights q = lb.int8();
          LstmStepForwardInt8 st{q.packed, q.scales, q.comp, lb.I, lb.H, B, lb.x_bytes.data(), Qx,
                                 lb.x_scales.data(), lb.h_bytes.data(), Qh, lb.h_scales.data(),
                                 lb.bias.data(), 0, lb.c.data() + prev, lb.gates.data(),
                                 lb.c.data() + next, lb.h.data() + next};
          lstm_step_forward_int8(st, 0, lstm_forward_blocks(lb.H));
          lb.cur = 1 - lb.cur;
          in = lb.h.data() + next;
          continue;
        }
        if (stream && bf16) {  // the same with bfloat16 weights: x and h_{t-1} to pairs first
          const int64_t prev = lb.cur * B * lb.H, next = (1 - lb.cur) * B * lb.H;
          const int64_t Px = (lb.I + 1) / 2, Ph = (lb.H + 1) / 2;
          lb.x_pairs.resize(size_t(B * Px)), lb.h_pairs.resize(size_t(B * Ph));
          for (int64_t b = 0; b < B; ++b) {
            lstm_to_bf16_pairs(in + b * lb.I, lb.I, lb.x_pairs.data() + b * Px);
            lstm_to_bf16_pairs(lb.h.data() + prev + b * lb.H, lb.H, lb.h_pairs.data() + b * Ph);
          }
          LstmStepForwardBf16 st{lb.packed_bf16.data(), lb.I, lb.H, B, lb.x_pairs.data(), Px,
                                 lb.h_pairs.data(), Ph, lb.bias.data(), 0, lb.c.data() + prev,
                                 lb.gates.data(), lb.c.data() + next, lb.h.data() + next};
          lstm_step_forward_bf16(st, 0, lstm_forward_blocks(lb.H));
          lb.cur = 1 - lb.cur;
          in = lb.h.data() + next;
          continue;
        }
        if (stream) {  // Sequential::step's path: h, c carried in two slots
          const int64_t prev = lb.cur * B * lb.H, next = (1 - lb.cur) * B * lb.H;
          lstm_forward_step(lb.packed_step.data(), lb.bias.data(), B, lb.I, lb.H, in,
                            lb.h.data() + prev, lb.c.data() + prev, lb.gates.data(),
                            lb.c.data() + next, lb.h.data() + next);
          lb.cur = 1 - lb.cur;
          in = lb.h.data() + next;
          continue;
        }
        LstmActivations a = lb.acts();
        if (int8) lstm_forward_int8({T, B, lb.I, lb.H}, lb.int8(), lb.w_ih.data(), lb.bias.data(), in, a);
        else if (bf16) lstm_forward_bf16({T, B, lb.I, lb.H}, lb.packed_bf16.data(), lb.w_ih.data(), lb.bias.data(), in, a);
        else lstm_forward({T, B, lb.I, lb.H}, lb.weights(), in, a);
        in = lb.h.data() + B * lb.H;
      }
    };
  }
  const double calls = bench_rate(call, seconds, windows);
  BenchResult r;
  r.shape = s;
  r.threads = threads;
  r.throughput = stream ? calls : calls * double(B);
  r.unit = stream ? "steps/s" : "seq/s";
  r.ns_per_step = 1e9 / calls / double(T);
  double flops = 0;
  for (int64_t l = 0; l < s.L; ++l) flops += 8.0 * double(B * T * s.H) * double((l == 0 ? s.I : s.H) + s.H);
  r.gflops = flops * (train ? 3.0 : 1.0) * calls / 1e9;
  return r;
}

std::vector<BenchShape> read_suite(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open the benchmark suite '" + path + "'");
  std::vector<BenchShape> rows;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty() || line[0] == '#' || line.rfind("name", 0) == 0) continue;
    std::istringstream row(line);
    BenchShape s;
    if (!(row >> s.name >> s.I >> s.H >> s.L >> s.B >> s.T >> s.mode))
      throw Error("'" + path + "', line " + std::to_string(line_no) +
                  ": expected name I H L B T mode [variant], separated by tabs");
    row >> s.variant;
    rows.push_back(s);
  }
  if (rows.empty()) throw Error("'" + path + "' lists no benchmark rows");
  return rows;
}

std::string bench_json(const BenchResult& r) {
  const BenchShape& s = r.shape;
  return nlohmann::json{{"name", s.name}, {"I", s.I}, {"H", s.H}, {"L", s.L}, {"B", s.B},
                        {"T", s.T}, {"mode", s.mode}, {"variant", s.variant}, {"precision", s.precision}, {"threads", r.threads},
                        {"throughput", r.throughput}, {"unit", r.unit},
                        {"ns_per_step", r.ns_per_step}, {"gflops", r.gflops}}
      .dump();
}

}  // namespace lstm
