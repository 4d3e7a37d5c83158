// lstm convert: a model from one format to another, checked before anything is written.
// lstm verify: a model against another file of the same network, run on the same inputs by that
// file's own framework, compared layer by layer (docs/interop.md).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/models.h"
#include "graph/graph_model.h"
#include "io/file.h"
#include "io/model_file.h"
#include "io/safetensors.h"
#include "io/keras_model.h"
#include "io/onnx_model.h"
#include "io/torch_model.h"
#include "lstm/lstm.h"

extern char** environ;

namespace lstm::cli {

namespace {

enum class Format { lstm, torch, keras, onnx };

const char* format_name(Format f) {
  return f == Format::lstm ? "lstm model (.safetensors)" : f == Format::torch ? "PyTorch state_dict (.pt)" : f == Format::keras ? "Keras model" : "ONNX model (.onnx)";
}

Format format_from_name(const std::string& name, const char* option) {
  if (name == "lstm" || name == "safetensors") return Format::lstm;
  if (name == "torch" || name == "pytorch" || name == "pt") return Format::torch;
  if (name == "keras") return Format::keras;
  if (name == "onnx") return Format::onnx;
  throw UsageError(std::string("--") + option + " " + name + ": formats are lstm (.safetensors), torch (.pt, .pth) "
                   "keras (.keras, .h5; written as .keras) and onnx (.onnx)");
}

Format format_of(const Args& a, const char* option, const std::string& path) {
  if (a.has(option)) return format_from_name(a.str(option), option);
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".safetensors") return Format::lstm;
  if (ext == ".pt" || ext == ".pth") return Format::torch;
  if (ext == ".keras" || ext == ".h5" || ext == ".hdf5") return Format::keras;
  if (ext == ".onnx") return Format::onnx;
  throw UsageError("cannot tell the format of '" + path + "' from its extension: give --" + option +
                   " lstm (.safetensors), torch (.pt, .pth), keras (.keras, .h5) or onnx (.onnx)");
}

std::string config_arg(const Args& a) {
  if (!a.has("config")) return "";
  const std::string v = a.str("config");
  if (!v.empty() && v[0] == '{') return v;
  return read_file(v, "model config");
}

// A file of any format as either model kind (a functional Keras model, or an lstm graph file, is
// a graph).
AnyModel read_any(const std::string& path, Format f, const std::string& config, std::vector<std::string>* notes) {
  if (f != Format::torch && !config.empty())
    throw UsageError("--config applies to PyTorch files; the other formats carry their architecture");
  AnyModel m;
  if (f == Format::lstm) return load_any_model(path);
  if (f == Format::keras) {
    KerasModel k = load_keras_model(path, notes);
    m.sequential = std::move(k.sequential), m.graph = std::move(k.graph);
    return m;
  }
  m.sequential = std::make_unique<Sequential>(f == Format::onnx ? load_onnx(path, notes) : load_torch(path, config, notes));
  return m;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// ---- inputs ----------------------------------------------------------------------------------

struct Inputs {
  Tensor x;
  std::vector<int64_t> lengths;  // one per sample
  bool tokens = false;
  std::string described;
};

// Random inputs of the model's shape, every other row right-padded (zeros, or the Masking value).
Inputs random_inputs(const Sequential& model, int64_t N, int64_t steps, uint64_t seed, bool padded_rows = true) {
  const std::vector<LayerConfig>& layers = model.layers();
  const std::vector<int64_t>& shape = model.input_shape();
  Inputs in;
  in.tokens = layers[0].type == LayerType::embedding && layers[0].kind.empty();
  const bool sequences = in.tokens || shape.size() == 2;
  const int64_t T = !sequences ? 1 : shape[0] > 0 ? shape[0] : steps;
  const int64_t F = in.tokens || !sequences ? (in.tokens ? 1 : shape[0]) : shape[1];
  float pad = 0.0f;
  if (layers[0].type == LayerType::masking && layers[0].kind.empty()) pad = layers[0].mask_value;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  const int64_t first = in.tokens && layers[0].mask_zero ? 1 : 0;
  std::uniform_int_distribution<int64_t> token(first, std::max<int64_t>(first, layers[0].input_dim - 1));
  std::uniform_int_distribution<int64_t> short_len(1, std::max<int64_t>(1, T - 1));
  std::vector<int64_t> dims = !sequences ? std::vector<int64_t>{N, F}
                                         : in.tokens ? std::vector<int64_t>{N, T} : std::vector<int64_t>{N, T, F};
  in.x = Tensor(dims, pad);
  int padded = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t L = padded_rows && sequences && n % 2 == 1 && T > 1 ? short_len(rng) : T;
    padded += L < T;
    in.lengths.push_back(L);
    for (int64_t t = 0; t < L; ++t)
      for (int64_t f = 0; f < F; ++f) in.x[(n * T + t) * F + f] = in.tokens ? float(token(rng)) : value(rng);
  }
  if (!sequences) in.lengths.clear();
  in.described = std::to_string(N) + " random " + (in.tokens ? "token sequences" : sequences ? "sequences" : "vectors") +
                 (sequences ? " of " + std::to_string(T) + " steps" : "") +
                 (padded ? ", " + std::to_string(padded) + " of them right-padded" : "");
  return in;
}

// ---- each layer's output ---------------------------------------------------------------------

// The model's first k + 1 layers with its weights.
Sequential prefix_model(const Sequential& model, size_t k) {
  Sequential shape;
  for (size_t j = 0; j <= k; ++j) shape.add(model.layers()[j]);
  SafetensorsFile full = model_to_safetensors(model), part;
  part.metadata["lstm.config"] = shape.to_json();
  for (NamedTensor& t : full.tensors) {
    const size_t i = size_t(std::stoul(t.name.substr(7, t.name.find('.', 7) - 7)));
    if (i <= k) part.tensors.push_back(std::move(t));
  }
  return model_from_safetensors(part, "the model's first layers");
}

std::vector<Tensor> layer_outputs(const Sequential& model, const Inputs& in) {
  std::vector<Tensor> out;
  for (size_t k = 0; k < model.layers().size(); ++k) {
    Sequential part = prefix_model(model, k);
    out.push_back(in.lengths.empty() ? part.predict(in.x) : part.predict(in.x, in.lengths));
  }
  return out;
}

// ---- PyTorch's side --------------------------------------------------------------------------

// Runs argv, waits, returns its exit status (-1: it could not be started).
int run_process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lstm-verify-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw Error("cannot create a temporary folder: " + std::string(std::strerror(errno)));
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::vector<Tensor> reference_outputs(const Args& a, const Sequential& model, const std::string& against, const Inputs& in,
                                  std::string* framework) {
  TempDir dir;
  write_file_atomic(dir.path + "/config.json", model.to_json(), "config");
  save_npy(dir.path + "/x.npy", in.x);
  std::vector<int64_t> L = in.lengths;
  if (L.empty()) L.assign(size_t(in.x.dim(0)), 1);
  save_npy(dir.path + "/lengths.npy", Tensor({int64_t(L.size())}, std::vector<float>(L.begin(), L.end())));
  const std::string python = a.str("python", "/usr/bin/python3");
  const Format format = format_of(a, "against-format", against);
  const bool keras = format == Format::keras, onnx = format == Format::onnx;
  const std::string script = scripts_dir() + (keras ? "/keras_verify.py" : onnx ? "/onnx_verify.js" : "/torch_verify.py");
  std::vector<std::string> argv = {onnx ? a.str("node", "node") : python, script, keras || onnx ? "--model" : "--state-dict",
                                   against};
  if (!keras && !onnx) argv.insert(argv.end(), {"--config", dir.path + "/config.json"});
  if (onnx) argv.insert(argv.end(), {"--tokens", in.tokens ? "1" : "0"});
  argv.insert(argv.end(), {"--x", dir.path + "/x.npy", "--lengths", dir.path + "/lengths.npy", "--out", dir.path});
  // onnxruntime-node as installed for the tests (scripts/install-deps.sh test), unless NODE_PATH says otherwise
  if (onnx && !std::getenv("NODE_PATH")) setenv("NODE_PATH", LSTM_NODE_PATH, 1);
  const int rc = run_process(argv);
  if (rc == -1)
    throw Error("cannot run '" + argv[0] + "': the reference needs Debian's python3 with python3-torch and "
                "python3-h5py (apt install python3-torch python3-h5py), or --python naming an interpreter that has them; "
                "for ONNX files, Node.js with onnxruntime-node (scripts/install-deps.sh test installs it)");
  if (rc != 0)
    throw Error("the reference (" + script + ") failed with exit status " + std::to_string(rc) + "; its message is above");
  *framework = read_file(dir.path + "/framework.txt", "reference info");
  while (!framework->empty() && std::isspace(static_cast<unsigned char>(framework->back()))) framework->pop_back();
  std::vector<Tensor> out(model.layers().size());  // ONNX: the whole model's output only
  for (size_t k = 0; k < out.size(); ++k)
    if (!onnx) out[k] = load_npy(dir.path + "/layer_" + std::to_string(k) + ".npy");
  if (onnx) out.back() = load_npy(dir.path + "/output.npy");
  return out;
}

std::string sci(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.2e", v);
  return s;
}

// One row of verify's table: y against the reference r, steps t >= lengths[n] of a sequence output
// [N, T, ...] (T = `steps`, 0: not a sequence model) left out. Returns whether it passes.
bool compare_row(const std::string& name, const Tensor& y, const Tensor& r, double tol,
                 const std::vector<int64_t>& lengths, int64_t steps) {
  if (y.shape() != r.shape()) {
    std::printf("  %-28s %-16s %12s %12s  DIFFERENT SHAPES (reference %s)\n", name.c_str(), y.shape_string().c_str(),
                "-", "-", r.shape_string().c_str());
    return false;
  }
  double diff = 0.0, scale = 0.0;
  bool finite = true;
  // the steps past each row's length are padding, which the frameworks fill differently (zeros,
  // the last output, a Dense of zeros): not compared
  const bool padded = !lengths.empty() && y.rank() >= 3 && y.dim(0) == int64_t(lengths.size()) && y.dim(1) == steps;
  const int64_t per_step = padded ? y.size() / (y.dim(0) * y.dim(1)) : 1;
  for (int64_t i = 0; i < y.size(); ++i) {
    if (padded && (i / per_step) % steps >= lengths[size_t(i / per_step / steps)]) continue;
    finite = finite && std::isfinite(y[i]) && std::isfinite(r[i]);
    diff = std::max(diff, double(std::fabs(y[i] - r[i])));
    scale = std::max(scale, double(std::fabs(r[i])));
  }
  const bool ok = finite && diff <= tol * std::max(1.0, scale);
  std::printf("  %-28s %-16s %12s %12s  %s\n", name.c_str(), y.shape_string().c_str(), sci(diff).c_str(),
              sci(scale > 0 ? diff / scale : diff).c_str(), ok ? "ok" : finite ? "DIFFERS" : "NOT FINITE");
  return ok;
}

// A graph against a functional Keras file (or an lstm graph file): random inputs of each input's
// shape, the outputs compared.
int verify_graph(const Args& a, Model& model, const std::string& model_path, const std::string& against, Format ref,
                 double tol) {
  if (ref != Format::keras && ref != Format::lstm)
    throw Error("a graph model is verified against a functional Keras file or an lstm graph file");
  if (a.has("x")) throw UsageError("--x: a graph's inputs are random here, one array per input");
  const nlohmann::json g = nlohmann::json::parse(model.to_json());
  const int64_t N = a.integer("samples", 6, 1, 1 << 20), steps = a.integer("steps", 12, 1, 1 << 20);
  std::mt19937_64 rng(uint64_t(a.integer("seed", 1, 0, INT64_MAX)));
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<Tensor> xs;
  std::vector<std::string> names;
  for (const auto& input : g["inputs"]) {
    const std::string name = input["name"].get<std::string>();
    std::vector<int64_t> dims = {N};
    for (const auto& d : input["shape"]) dims.push_back(d.is_number_integer() && d.get<int64_t>() > 0 ? d.get<int64_t>() : steps);
    int64_t vocabulary = 0;  // an input read by an Embedding holds token ids
    for (const auto& l : g["layers"])
      if (l.value("type", "") == "embedding" && l.contains("inputs") && l["inputs"].size() == 1 && l["inputs"][0] == name)
        vocabulary = l["input_dim"].get<int64_t>();
    Tensor x(dims);
    std::uniform_int_distribution<int64_t> token(1, std::max<int64_t>(1, vocabulary - 1));
    for (int64_t i = 0; i < x.size(); ++i) x[i] = vocabulary ? float(token(rng)) : value(rng);
    xs.push_back(std::move(x));
    names.push_back(name);
  }
  const std::vector<Tensor> ours = model.predict(TensorList(xs));
  std::vector<Tensor> theirs;
  std::string framework;
  if (ref == Format::lstm) {
    Model other = Model::load(against);
    theirs = other.predict(TensorList(xs));
    framework = std::string("lstm ") + version();
  } else {
    TempDir dir;
    for (size_t k = 0; k < xs.size(); ++k) save_npy(dir.path + "/x_" + names[k] + ".npy", xs[k]);
    const std::string script = scripts_dir() + "/keras_verify.py";
    const int rc = run_process({a.str("python", "/usr/bin/python3"), script, "--model", against, "--graph-inputs",
                                dir.path, "--out", dir.path});
    if (rc != 0) throw Error("the reference (" + script + ") failed with exit status " + std::to_string(rc));
    for (size_t k = 0; k < ours.size(); ++k) theirs.push_back(load_npy(dir.path + "/output_" + std::to_string(k) + ".npy"));
    framework = read_file(dir.path + "/framework.txt", "reference info");
    while (!framework.empty() && std::isspace(static_cast<unsigned char>(framework.back()))) framework.pop_back();
  }
  std::printf("lstm verify: %s against %s (%s)\n", model_path.c_str(), against.c_str(), framework.c_str());
  std::printf("inputs: %lld random samples of each input (%zu), no padding\n", static_cast<long long>(N), xs.size());
  std::printf("  %-28s %-16s %12s %12s  %s\n", "output", "shape", "max |diff|", "max rel", "verdict");
  bool all_ok = theirs.size() == ours.size();
  for (size_t k = 0; k < ours.size() && k < theirs.size(); ++k)
    all_ok = compare_row(model.output_names()[k], ours[k], theirs[k], tol, {}, 0) && all_ok;
  std::printf("verdict: %s (tolerance %s)\n", all_ok ? "the same network" : "DIFFERENT", sci(tol).c_str());
  return all_ok ? 0 : 1;
}

// ---- a saved precision -----------------------------------------------------------------------

// Sets --precision on the model, to be saved with it. For a Sequential model, returns the largest
// difference its outputs move by from fp32 on random inputs (what the user accepts by saving it).
double apply_saved_precision(const Args& a, Sequential& model) {
  const Tensor x = random_inputs(model, 4, 8, 7, false).x;
  model.set_precision(Precision::fp32);
  const Tensor fp32 = model.predict(x);
  apply_precision(a, model);  // an Error naming the layers when the model has no LSTM to run in it
  const Tensor low = model.predict(x);
  double diff = 0.0;
  for (int64_t i = 0; i < fp32.size(); ++i) diff = std::max(diff, double(std::fabs(fp32[i] - low[i])));
  return diff;
}

double apply_saved_precision(const Args& a, Model& model) {
  apply_precision(a, model);
  return -1.0;  // not measured
}

void print_precision(Precision p, double drift) {
  std::printf("precision: %s, saved in the file and applied whenever it loads (the fp32 weights kept)", precision_name(p));
  if (drift >= 0.0) std::printf("; largest output difference from fp32 on random inputs: %s", sci(drift).c_str());
  std::printf("\n");
}

}  // namespace

std::string installed_or_source(const char* env_var, const char* folder, const char* marker,
                                const char* source_tree) {
  if (const char* env = std::getenv(env_var); env && *env) return env;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path installed =
        exe.parent_path().parent_path() / "share" / "lstm" / folder;
    if (std::filesystem::exists(installed / marker, ec)) return installed.string();
  }
  return source_tree;
}

std::string scripts_dir() {
  return installed_or_source("LSTM_SCRIPTS_DIR", "scripts", "torch_verify.py", LSTM_SCRIPTS_DIR);
}

const Command kConvert{
    "convert",
    "Convert a model between formats: IN OUT, formats from the extensions (or --from/--to):\n"
    "  lstm   .safetensors   this library's model file\n"
    "  torch  .pt, .pth      a PyTorch state_dict (torch.save), read without running its pickle;\n"
    "                        written so that torch.load(..., weights_only=True) reads it\n"
    "  keras  .keras, .h5    Keras 3 and Keras 2 Sequential models (read; written as Keras 3 .keras)\n"
    "  onnx   .onnx          ONNX opset 14 (written, checked by ONNX's checker; read: graphs of that shape)\n"
    "The result is read back and checked (weights bit for bit, outputs on random inputs) before\n"
    "it is written; nothing is written when anything fails. docs/interop.md has the details.",
    {{"file", "IN OUT", "the model to read and the file to write", true},
     {"from", "FORMAT", "the input's format: lstm or torch (default: from its extension)"},
     {"to", "FORMAT", "the output's format: lstm or torch (default: from its extension)"},
     {"sequence-lens", "", "ONNX output: an int32 input \"lengths\" [N] (valid steps per row) besides \"x\", "
                           "for right-padded batches"},
     {"config", "JSON|FILE", "a PyTorch file's architecture as an lstm model config (default: the one "
                             "the file carries when lstm wrote it, else inferred from its names and shapes)"},
     {"precision", "P", "lstm output: save the model to run in P (fp32, bf16 or int8: the LSTM weights as "
                        "bfloat16, or int8 with a scale per row) whenever it loads; the file keeps the fp32 weights, "
                        "so fp32 can be chosen again (--precision fp32, or predict --precision fp32)"},
     {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"}},
    "file"};

const Command kVerify{
    "verify",
    "Run a model and another file of the same network on the same inputs and compare them layer by\n"
    "layer: the largest absolute and relative difference of each layer's output, and a verdict.\n"
    "A PyTorch file runs in PyTorch (scripts/torch_verify.py under /usr/bin/python3), a Keras\n"
    "file by Keras's equations in NumPy (scripts/keras_verify.py), an ONNX file in onnxruntime\n"
    "(scripts/onnx_verify.js; its output only), an lstm file in this library. Exit status 1 when\n"
    "any layer differs by more than the tolerance.",
    {{"model", "FILE", "the model (.safetensors, or a .pt with --config or its own architecture)"},
     {"against", "FILE", "the reference: a PyTorch state_dict (.pt, .pth), a Keras model (.keras, .h5), an "
                         "ONNX model (.onnx) or an lstm model (.safetensors)"},
     {"x", "FILE", "inputs, .npy [N, T, F] (token ids [N, T] before an Embedding); default: random, every "
                   "other row right-padded"},
     {"lengths", "FILE", "valid steps per sample of --x, .npy integers [N] (default: all steps)"},
     {"samples", "N", "random inputs: how many sequences (default 6)"},
     {"steps", "T", "random inputs: steps per sequence when the model takes any length (default 12)"},
     {"seed", "S", "random inputs: the seed (default 1)"},
     {"tolerance", "TOL", "the largest difference allowed, relative to the layer output's largest "
                          "magnitude when that exceeds 1 (default 1e-5)"},
     {"config", "JSON|FILE", "the architecture of a .pt --model (as for lstm convert)"},
     {"python", "PATH", "the Python that has PyTorch (default /usr/bin/python3)"},
     {"node", "PATH", "the Node.js that runs onnxruntime-node, for ONNX files (default node)"},
     {"model-format", "FORMAT", "--model's format: lstm or torch (default: from its extension)"},
     {"against-format", "FORMAT", "--against's format: lstm or torch (default: from its extension)"},
     {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"}}};

int run_convert(const Args& a) {
  const std::vector<std::string> files = a.all("file");
  if (files.size() != 2) throw UsageError("give the input and the output: lstm convert IN OUT");
  const std::string &in_path = files[0], &out_path = files[1];
  if (std::filesystem::exists(in_path) && std::filesystem::exists(out_path) &&
      std::filesystem::equivalent(in_path, out_path))
    throw UsageError("IN and OUT are the same file");
  const Format from = format_of(a, "from", in_path), to = format_of(a, "to", out_path);
  check_output_path(out_path, "converted model");
  if (a.has("precision") && to != Format::lstm)
    throw UsageError("--precision is saved in lstm's format (.safetensors) only; the other formats hold fp32 weights");
  std::vector<std::string> notes;
  AnyModel any = read_any(in_path, from, config_arg(a), &notes);
  std::printf("read %s: %s%s, %lld parameters\n", in_path.c_str(), format_name(from), any.graph ? " (a graph)" : "",
              static_cast<long long>(any.trainable().count_params()));
  for (const std::string& n : notes) std::printf("  note: %s\n", n.c_str());
  if (any.graph) {  // a graph: lstm's own format or Keras's, read back and compared
    if (to != Format::lstm && to != Format::keras)
      throw Error("a graph model (a functional Keras model, lstm::Model) converts to lstm's format (.safetensors) and "
                  "to Keras (.keras) only, so far");
    if (to == Format::keras && std::filesystem::path(out_path).extension() != ".keras")
      throw UsageError("lstm writes Keras 3 .keras files: name the output <name>.keras");
    const double drift = a.has("precision") ? apply_saved_precision(a, *any.graph) : 0.0;
    if (to != Format::lstm && any.graph->precision() != Precision::fp32) {
      std::printf("  note: the input runs in %s (saved with it); %s holds the fp32 weights\n",
                  precision_name(any.graph->precision()), format_name(to));
      any.graph->set_precision(Precision::fp32);
    }
    std::string bytes;
    std::unique_ptr<Model> back;
    if (to == Format::keras) {
      bytes = encode_keras(*any.graph);
      back = std::move(decode_keras_model(bytes, out_path).graph);
      if (!back) throw Error("the written .keras file reads back as a Sequential model; nothing written");
    } else {
      bytes = encode_safetensors(graph_model_to_safetensors(*any.graph));
      back = std::make_unique<Model>(graph_model_from_safetensors(parse_safetensors(bytes, out_path), out_path));
    }
    if (!same_bits(any.graph->get_weights(), back->get_weights()) || back->to_json() != any.graph->to_json())
      throw Error("the written model, read back, does not hold the same graph and weights; nothing written");
    if (back->precision() != any.graph->precision())
      throw Error("the written model, read back, runs in a different precision; nothing written");
    write_file_atomic(out_path, bytes, "converted model");
    std::printf("wrote %s: %s, a graph (%zu bytes); read back: the same graph and %lld weights bit for bit\n",
                out_path.c_str(), format_name(to), bytes.size(), static_cast<long long>(back->count_params()));
    if (a.has("precision")) print_precision(any.graph->precision(), drift);
    return 0;
  }
  Sequential& model = *any.sequential;

  // the output's bytes, read back by the reader of its format
  if (to != Format::onnx && a.has("sequence-lens")) throw UsageError("--sequence-lens applies to ONNX output");
  const double drift = a.has("precision") ? apply_saved_precision(a, model) : 0.0;
  if (to != Format::lstm && model.precision() != Precision::fp32) {
    std::printf("  note: the input runs in %s (saved with it); %s holds the fp32 weights, which it is checked against\n",
                precision_name(model.precision()), format_name(to));
    model.set_precision(Precision::fp32);
  }
  std::string bytes;
  Sequential back;
  if (to == Format::onnx) {  // ONNX's own checker has passed it; then read back as every format is
    bytes = encode_onnx(model, {.lengths_input = a.has("sequence-lens")});
    back = decode_onnx(bytes, out_path);
  } else if (to == Format::keras) {
    if (std::filesystem::path(out_path).extension() != ".keras")
      throw UsageError("lstm writes Keras 3 .keras files: name the output <name>.keras");
    bytes = encode_keras(model);
    back = decode_keras(bytes, out_path);
  } else if (to == Format::lstm) {
    bytes = encode_safetensors(model_to_safetensors(model));
    back = model_from_safetensors(parse_safetensors(bytes, out_path), out_path);
  } else {
    bytes = encode_torch_state_dict(torch_tensors_from(model),
                                    std::filesystem::path(out_path).stem().string(), model.to_json());
    std::string config;
    const std::span<const uint8_t> view(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    back = sequential_from_torch(decode_torch_state_dict(view, out_path, &config), "", config, out_path);
  }
  if (!same_bits(model.get_weights(), back.get_weights()))
    throw Error("the written model, read back, does not hold the same weights; nothing written");
  const Inputs in = random_inputs(model, 4, 8, 7);
  const Tensor y0 = in.lengths.empty() ? model.predict(in.x) : model.predict(in.x, in.lengths);
  const Tensor y1 = in.lengths.empty() ? back.predict(in.x) : back.predict(in.x, in.lengths);
  if (!same_bits(y0.storage(), y1.storage()) || back.precision() != model.precision())
    throw Error("the written model, read back, computes different outputs; nothing written");
  write_file_atomic(out_path, bytes, "converted model");
  std::printf("wrote %s: %s (%zu bytes%s); read back: the same %lld weights bit for bit, the same outputs on %s\n",
              out_path.c_str(), format_name(to), bytes.size(),
              to != Format::onnx ? "" : a.has("sequence-lens") ? ", opset 14, inputs x and lengths, passed onnx::checker"
                                                                : ", opset 14, input x, passed onnx::checker",
              static_cast<long long>(back.count_params()), in.described.c_str());
  if (a.has("precision")) print_precision(model.precision(), drift);
  return 0;
}

int run_verify(const Args& a) {
  const std::string model_path = a.required("model"), against = a.required("against");
  const double tol = a.number("tolerance", 1e-5);
  if (!(tol >= 0.0)) throw UsageError("--tolerance must be 0 or more");
  std::vector<std::string> notes;
  AnyModel any = read_any(model_path, format_of(a, "model-format", model_path), config_arg(a), &notes);
  for (const std::string& n : notes) std::printf("note: %s\n", n.c_str());
  const Format ref = format_of(a, "against-format", against);
  if (any.graph) return verify_graph(a, *any.graph, model_path, against, ref, tol);
  Sequential& model = *any.sequential;

  Inputs in;
  if (a.has("x")) {
    in.x = load_npy(a.str("x"), true);
    in.tokens = model.layers()[0].type == LayerType::embedding;
    if (a.has("lengths")) in.lengths = load_lengths(a.str("lengths"));
    else if (in.x.rank() >= 2 && (in.tokens || in.x.rank() == 3)) in.lengths.assign(size_t(in.x.dim(0)), in.x.dim(1));
    in.described = a.str("x") + " " + in.x.shape_string();
  } else {
    if (a.has("lengths")) throw UsageError("--lengths goes with --x");
    // a Keras model sees padding only through a mask (Embedding(mask_zero) or Masking)
    const LayerConfig& first = model.layers()[0];
    const bool masked = first.kind.empty() && ((first.type == LayerType::embedding && first.mask_zero) ||
                                               first.type == LayerType::masking);
    in = random_inputs(model, a.integer("samples", 6, 1, 1 << 20), a.integer("steps", 12, 1, 1 << 20),
                       uint64_t(a.integer("seed", 1, 0, INT64_MAX)),
                       ref == Format::lstm || ref == Format::torch || masked ||
                           (ref == Format::onnx && [&] {
                             const std::vector<std::string> names = onnx_input_names(against);
                             return std::find(names.begin(), names.end(), "lengths") != names.end();
                           }()));
  }
  const std::vector<Tensor> ours = layer_outputs(model, in);
  std::string framework;
  std::vector<Tensor> theirs;
  if (ref != Format::lstm) {
    theirs = reference_outputs(a, model, against, in, &framework);
  } else {
    Sequential other = Sequential::load(against);
    if (other.layers().size() != model.layers().size())
      throw Error("'" + against + "' has " + std::to_string(other.layers().size()) + " layers, the model " +
                  std::to_string(model.layers().size()) + ": a layer-by-layer comparison needs the same layers");
    theirs = layer_outputs(other, in);
    framework = std::string("lstm ") + version();
  }

  std::printf("lstm verify: %s against %s (%s)\n", model_path.c_str(), against.c_str(), framework.c_str());
  std::printf("inputs: %s\n", in.described.c_str());
  std::printf("  %-28s %-16s %12s %12s  %s\n", "layer", "output", "max |diff|", "max rel", "verdict");
  bool all_ok = true;
  for (size_t k = 0; k < ours.size(); ++k) {
    const LayerConfig& l = model.layers()[k];
    const std::string type = l.kind.empty() ? std::string(layer_type_name(l.type)) : l.kind;
    const std::string name = std::to_string(k) + " " + (l.name.empty() ? type : l.name + " (" + type + ")");
    if (theirs[k].empty() && ours[k].size() > 0) continue;  // not given by the reference (ONNX: the output only)
    all_ok = compare_row(name, ours[k], theirs[k], tol, in.lengths, in.x.rank() >= 2 ? in.x.dim(1) : 0) && all_ok;
  }
  std::printf("verdict: %s (tolerance %s)\n", all_ok ? "the same network" : "DIFFERENT", sci(tol).c_str());
  return all_ok ? 0 : 1;
}

}  // namespace lstm::cli
