// The speech job: transcripts and audio in, a CTC-trained LSTM recogniser out; transcription,
// evaluation, the model file. See lstm/speech.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "lstm/error.h"
#include "lstm/speech.h"
#include "lstm/text.h"

namespace lstm {

static constexpr const char* kSpeechKey = "lstm.speech";
static constexpr float kSilencePeak = 1e-4f;  // -80 dBFS: below it a recording holds nothing

std::string normalize_transcript(std::string_view text) {
  std::string out;
  bool space = false;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ', space = false;
    out += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : ch;
  }
  return out;
}

std::vector<Utterance> read_transcripts(const std::string& tsv, const std::string& audio_dir) {
  const std::string text = read_file(tsv, "transcripts");
  std::vector<Utterance> out;
  int64_t number = 0;
  for (const std::string_view line : split_lines(text)) {
    ++number;
    const std::string where = tsv + " line " + std::to_string(number);
    if (normalize_transcript(line).empty()) continue;
    check_utf8(line, where);
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || line.find('\t', tab + 1) != std::string_view::npos)
      throw Error(where + ": expected path<TAB>text with exactly one tab, got \"" + std::string(line.substr(0, 80)) +
                  "\"");
    Utterance u;
    const std::string path(line.substr(0, tab));
    u.text = normalize_transcript(line.substr(tab + 1));
    u.line = number;
    if (path.empty()) throw Error(where + ": the path before the tab is empty");
    if (u.text.empty()) throw Error(where + ": the transcript of " + path + " is empty (silence has no transcript to learn)");
    u.path = std::filesystem::path(path).is_absolute() ? path : (std::filesystem::path(audio_dir) / path).string();
    out.push_back(std::move(u));
  }
  if (out.empty()) throw Error(tsv + " holds no utterance: expected lines path<TAB>text");
  return out;
}

// ---- audio to the model's input --------------------------------------------------------------

static std::vector<float> at_model_rate(const Audio& audio, int rate, const std::string& name) {
  float peak = 0.0f;
  for (float s : audio.samples) peak = std::max(peak, std::fabs(s));
  if (!(peak >= kSilencePeak))
    throw Error(name + " is silent (its loudest sample is below -80 dBFS): there is nothing to recognise");
  return resample(audio.samples, audio.sample_rate, rate);
}

// [T, F] -> [ceil(T / k), F·k]: k consecutive frames side by side, the last group padded with 0.
static Tensor stack_frames(const Tensor& f, int k) {
  if (k == 1) return f;
  const int64_t T = f.dim(0), F = f.dim(1), Ts = (T + k - 1) / k;
  Tensor out({Ts, F * k});
  std::copy(f.data(), f.data() + f.size(), out.data());  // row-major: frames simply run on
  return out;
}

static Tensor normalize_globally(Tensor f, const FeatureOptions& o) {
  const int64_t T = f.dim(0), F = f.dim(1);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < F; ++i) f[t * F + i] = (f[t * F + i] - o.mean[size_t(i)]) / o.stddev[size_t(i)];
  return f;
}

Tensor SpeechRecognizer::input_of(const Audio& audio, const std::string& name) const {
  const std::vector<float> x = at_model_rate(audio, features.sample_rate, name);
  FeatureExtractor fx(features);
  if (fx.frames(int64_t(x.size())) == 0)
    throw Error(name + " is shorter than one frame (" + std::to_string(audio.seconds()) + " s; a frame is " +
                std::to_string(features.frame_ms) + " ms)");
  return stack_frames(fx.compute(x), architecture.stack);
}

double SpeechRecognizer::frame_seconds() const { return features.hop_ms / 1000.0 * architecture.stack; }

std::vector<int> SpeechRecognizer::encode(const std::string& text, const std::string& where) const {
  std::vector<int> out;
  for (const std::string& ch : split_characters(normalize_transcript(text))) {
    const auto it = std::lower_bound(labels.begin(), labels.end(), ch);
    if (it == labels.end() || *it != ch) {
      std::string known;
      for (const std::string& l : labels) known += l == " " ? "' '" : l;
      throw Error(where + ": the character '" + ch + "' is not among the model's labels (" + known +
                  "): the model can only write the characters its training transcripts hold");
    }
    out.push_back(int(it - labels.begin()) + 1);
  }
  return out;
}

std::string SpeechRecognizer::decode(std::span<const int> ids) const {
  std::string out;
  for (int id : ids)
    if (id >= 1 && size_t(id) <= labels.size()) out += labels[size_t(id - 1)];
  return out;
}

namespace {

// Right-padded [N, Tmax, F] and the lengths, from [T_n, F] tensors.
Tensor pad_inputs(std::span<const Tensor> xs, std::vector<int64_t>& lengths) {
  int64_t Tmax = 1;
  const int64_t F = xs.empty() ? 1 : xs[0].dim(1);
  for (const Tensor& x : xs) Tmax = std::max(Tmax, x.dim(0));
  Tensor X({int64_t(xs.size()), Tmax, F});
  lengths.clear();
  for (size_t n = 0; n < xs.size(); ++n) {
    std::copy(xs[n].data(), xs[n].data() + xs[n].size(), X.data() + int64_t(n) * Tmax * F);
    lengths.push_back(xs[n].dim(0));
  }
  return X;
}

Tensor pad_labels(const std::vector<std::vector<int>>& ys) {
  int64_t L = 1;
  for (const auto& y : ys) L = std::max(L, int64_t(y.size()));
  Tensor Y({int64_t(ys.size()), L});
  for (size_t n = 0; n < ys.size(); ++n)
    for (size_t i = 0; i < ys[n].size(); ++i) Y[int64_t(n) * L + int64_t(i)] = float(ys[n][i]);
  return Y;
}

CtcLexicon make_lexicon(const SpeechRecognizer& r, const std::vector<std::string>& words) {
  CtcLexicon lex;
  const auto space = std::lower_bound(r.labels.begin(), r.labels.end(), std::string(" "));
  if (space == r.labels.end() || *space != " ")
    throw Error("a lexicon joins words with spaces, but this model's labels have no space: its "
                "training transcripts were single words; transcribe without --lexicon");
  lex.separator = int(space - r.labels.begin()) + 1;
  std::vector<std::string> list;
  for (const std::string& w : words) {
    if (w == "training") list.insert(list.end(), r.words.begin(), r.words.end());
    else list.push_back(w);
  }
  for (const std::string& w : list) {
    const std::string n = normalize_transcript(w);
    if (n.empty() || n.find(' ') != std::string::npos)
      throw Error("lexicon entry '" + w + "' is not one word");
    lex.words.push_back(r.encode(n, "lexicon word '" + w + "'"));
  }
  if (lex.words.empty()) throw Error("the lexicon is empty");
  return lex;
}

}  // namespace

std::vector<std::string> SpeechRecognizer::transcribe(std::span<const Audio> audio, const TranscribeOptions& o,
                                                      std::span<const std::string> names) {
  if (o.beam < 1 || o.beam > 4096) throw Error("beam must be in 1..4096, got " + std::to_string(o.beam));
  if (o.batch_size < 1) throw Error("batch_size must be at least 1");
  const bool constrained = !o.lexicon.empty();
  if (o.word_score != 0.0f && !constrained)
    throw Error("a word score needs a lexicon: it scores the lexicon's words (give one, or leave the score 0)");
  CtcLexicon lexicon;
  if (constrained) lexicon = make_lexicon(*this, o.lexicon);
  const int beam = constrained && o.beam == 1 ? 16 : o.beam;
  std::vector<std::string> out;
  Sequential& m = model;
  const int64_t C = int64_t(labels.size()) + 1;
  for (size_t at = 0; at < audio.size(); at += size_t(o.batch_size)) {
    const size_t n = std::min(audio.size() - at, size_t(o.batch_size));
    std::vector<Tensor> xs;
    for (size_t k = 0; k < n; ++k)
      xs.push_back(input_of(audio[at + k], names.size() > at + k ? names[at + k] : "recording " + std::to_string(at + k + 1)));
    std::vector<int64_t> lengths;
    const Tensor X = pad_inputs(xs, lengths);
    const Tensor Y = m.predict(X, lengths, int(n));
    const int64_t T = X.dim(1);
    for (size_t k = 0; k < n; ++k) {
      const float* z = Y.data() + int64_t(k) * T * C;
      if (beam == 1) {
        out.push_back(decode(ctc_greedy_decode(z, lengths[k], C)));
        continue;
      }
      const auto hyps = ctc_beam_search(z, lengths[k], C, {.beam = beam, .lexicon = constrained ? &lexicon : nullptr, .word_score = o.word_score});
      out.push_back(hyps.empty() ? std::string() : decode(hyps[0].labels));
    }
  }
  return out;
}

std::string SpeechRecognizer::transcribe(const Audio& audio, const TranscribeOptions& options) {
  return transcribe(std::span<const Audio>(&audio, 1), options)[0];
}

FrameOutputs SpeechRecognizer::frame_outputs(const Audio& audio) {
  FrameOutputs f;
  f.features = input_of(audio);
  Tensor X({1, f.features.dim(0), f.features.dim(1)});
  std::copy(f.features.data(), f.features.data() + f.features.size(), X.data());
  Tensor Y = model.predict(X, 1);
  const int64_t T = Y.dim(1), C = Y.dim(2);
  f.probabilities = Tensor({T, C});
  for (int64_t t = 0; t < T; ++t) {
    const float* z = Y.data() + t * C;
    const float mx = *std::max_element(z, z + C);
    double sum = 0;
    for (int64_t k = 0; k < C; ++k) sum += std::exp(double(z[k] - mx));
    for (int64_t k = 0; k < C; ++k) f.probabilities[t * C + k] = float(std::exp(double(z[k] - mx)) / sum);
  }
  return f;
}

SequenceScores SpeechRecognizer::evaluate(std::span<const Utterance> utterances, const TranscribeOptions& options,
                                          std::vector<std::string>* outputs, double* audio_seconds) {
  if (utterances.empty()) throw Error("evaluate: no utterance");
  std::vector<std::string> refs, hyps;
  for (const Utterance& u : utterances) {
    encode(u.text, "the transcript of " + u.path + " (line " + std::to_string(u.line) + ")");  // named, not scored
    refs.push_back(u.text);
  }
  double seconds = 0.0;
  // in batches, so that only one batch of audio is in memory at a time
  for (size_t at = 0; at < utterances.size(); at += size_t(std::max<int64_t>(options.batch_size, 1))) {
    const size_t n = std::min(utterances.size() - at, size_t(std::max<int64_t>(options.batch_size, 1)));
    std::vector<Audio> audio;
    std::vector<std::string> names;
    for (size_t k = 0; k < n; ++k) {
      audio.push_back(read_audio(utterances[at + k].path));
      seconds += audio.back().seconds();
      names.push_back(utterances[at + k].path);
    }
    for (std::string& h : transcribe(audio, options, names)) hyps.push_back(std::move(h));
  }
  if (outputs) *outputs = hyps;
  if (audio_seconds) *audio_seconds = seconds;
  return score_sequences(hyps, refs, TextLevel::character);
}

// ---- the model file --------------------------------------------------------------------------

void SpeechRecognizer::save(const std::string& path) {
  model.metadata()[kSpeechKey] =
      nlohmann::json{{"features", nlohmann::json::parse(feature_options_to_json(features))},
                     {"architecture", {{"layers", architecture.layers}, {"units", architecture.units},
                                       {"bidirectional", architecture.bidirectional},
                                       {"dropout", architecture.dropout}, {"stack", architecture.stack}}},
                     {"labels", labels},
                     {"words", words}}
          .dump();
  model.save(path);
}

SpeechRecognizer SpeechRecognizer::load(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  const auto& md = file.metadata;
  if (!md.count(kSpeechKey)) {
    std::string is = "a model of another job";
    if (md.count("lstm.seq2seq")) is = "a seq2seq model (lstm seq2seq)";
    else if (md.count("lstm.classifier")) is = "a text classifier (lstm classify)";
    else if (md.count("lstm.forecast")) is = "a forecaster (lstm forecast)";
    else if (md.count("lstm.music")) is = "a melody model (lstm music)";
    else if (md.count("lstm.text")) is = "a language model (lstm text)";
    throw Error(path + " is " + is + ", not a speech model (no \"" + kSpeechKey +
                "\" metadata): train one with lstm speech train");
  }
  SpeechRecognizer r{Sequential::load(path)};
  const std::string where = path + ": its \"lstm.speech\" metadata";
  const nlohmann::json meta = parse_json(md.at(kSpeechKey), where);
  try {
    r.features = feature_options_from_json(meta.at("features").dump());
    const nlohmann::json& a = meta.at("architecture");
    r.architecture = {a.at("layers").get<int>(), a.at("units").get<int>(), a.at("bidirectional").get<bool>(),
                      a.at("dropout").get<float>(), a.at("stack").get<int>()};
    if (meta.at("labels").size() > 1 << 20 || meta.at("words").size() > 1 << 24) throw Error("too many labels");
    r.labels = meta.at("labels").get<std::vector<std::string>>();
    r.words = meta.at("words").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + " is not valid: " + e.what());
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  const std::vector<int64_t> out = r.model.output_shape();
  const int64_t dims = FeatureExtractor(r.features).dims() * r.architecture.stack;
  if (r.architecture.stack < 1 || r.architecture.stack > 8 || r.labels.empty() ||
      !std::is_sorted(r.labels.begin(), r.labels.end()) || out.size() != 2 ||
      out.back() != int64_t(r.labels.size()) + 1 || r.model.input_shape().size() != 2 ||
      r.model.input_shape().back() != dims)
    throw Error(where + " does not match its network: " + std::to_string(r.labels.size()) + " labels, " +
                std::to_string(dims) + " input features, for a model " + r.model.summary().substr(0, 200));
  return r;
}

// ---- training --------------------------------------------------------------------------------

namespace {

struct Prepared {
  std::vector<Tensor> x;  // unnormalised when the normalisation is global
  std::vector<std::vector<int>> y;
  double seconds = 0.0;
};

std::string where_of(const Utterance& u) { return u.path + " (transcripts line " + std::to_string(u.line) + ")"; }

Prepared prepare(std::span<const Utterance> us, const FeatureOptions& fo, int verbose, const char* what) {
  Prepared p;
  FeatureExtractor fx(fo);
  const auto start = std::chrono::steady_clock::now();
  for (size_t k = 0; k < us.size(); ++k) {
    const Utterance& u = us[k];
    const Audio a = read_audio(u.path);
    const std::vector<float> x = at_model_rate(a, fo.sample_rate, where_of(u));
    if (fx.frames(int64_t(x.size())) == 0)
      throw Error(where_of(u) + " is shorter than one frame (" + std::to_string(a.seconds()) + " s; a frame is " +
                  std::to_string(fo.frame_ms) + " ms)");
    p.x.push_back(fo.normalization == Normalization::global ? fx.compute_unnormalized(x) : fx.compute(x));
    p.seconds += a.seconds();
    if (verbose && ((k + 1) % 1000 == 0 || k + 1 == us.size())) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%s: %zu/%zu recordings read (%.0f s of audio, %.1f s)\n", what, k + 1, us.size(), p.seconds, s);
      std::fflush(stdout);
    }
  }
  return p;
}

}  // namespace

SpeechRecognizer train_speech(std::span<const Utterance> train, std::span<const Utterance> valid,
                              const SpeechOptions& o) {
  const SpeechArchitecture& a = o.architecture;
  if (train.empty()) throw Error("train_speech: no training utterance");
  if (a.layers < 1 || a.layers > 16) throw Error("layers must be in 1..16, got " + std::to_string(a.layers));
  if (a.units < 1 || a.units > 8192) throw Error("units must be in 1..8192, got " + std::to_string(a.units));
  if (!(a.dropout >= 0 && a.dropout < 1)) throw Error("dropout must be in [0, 1)");
  if (a.stack < 1 || a.stack > 8) throw Error("stack must be in 1..8, got " + std::to_string(a.stack));
  if (o.epochs < 1 || o.batch_size < 1) throw Error("epochs and batch_size must be at least 1");
  FeatureOptions fo = o.features;
  const bool global = fo.normalization == Normalization::global;
  if (global) fo.mean.clear(), fo.stddev.clear();
  FeatureOptions plain = fo;
  if (global) plain.normalization = Normalization::none;
  check_feature_options(plain);
  if (!a.bidirectional && fo.normalization == Normalization::utterance && o.verbose)
    std::printf("note: per-utterance normalisation needs the whole recording, so this unidirectional model "
                "cannot stream: use normalisation global for that\n");

  SpeechRecognizer r;
  r.architecture = a;
  std::set<std::string> chars, words;
  for (const Utterance& u : train) {
    for (const std::string& c : split_characters(u.text)) chars.insert(c);
    for (const std::string& w : split_words(u.text)) words.insert(w);
  }
  r.labels.assign(chars.begin(), chars.end());
  r.words.assign(words.begin(), words.end());

  Prepared tr = prepare(train, plain, o.verbose, "training");
  Prepared va = prepare(valid, plain, o.verbose, "validation");
  if (global) {  // statistics of the training frames
    const int64_t F = tr.x[0].dim(1);
    std::vector<double> sum(size_t(F), 0.0), sq(size_t(F), 0.0);
    int64_t frames = 0;
    for (const Tensor& x : tr.x)
      for (int64_t t = 0; t < x.dim(0); ++t, ++frames)
        for (int64_t i = 0; i < F; ++i) sum[size_t(i)] += x[t * F + i], sq[size_t(i)] += double(x[t * F + i]) * x[t * F + i];
    fo.mean.resize(size_t(F)), fo.stddev.resize(size_t(F));
    for (int64_t i = 0; i < F; ++i) {
      const double mean = sum[size_t(i)] / double(frames);
      fo.mean[size_t(i)] = float(mean);
      fo.stddev[size_t(i)] = float(std::max(std::sqrt(std::max(sq[size_t(i)] / double(frames) - mean * mean, 0.0)), 1e-5));
    }
    for (Tensor& x : tr.x) x = normalize_globally(std::move(x), fo);
    for (Tensor& x : va.x) x = normalize_globally(std::move(x), fo);
  }
  r.features = fo;
  r.audio_seconds = tr.seconds;
  auto labelled = [&](std::span<const Utterance> us, Prepared& p) {
    for (size_t k = 0; k < us.size(); ++k) {
      p.x[k] = stack_frames(p.x[k], a.stack);
      p.y.push_back(r.encode(us[k].text, where_of(us[k])));
      const int64_t need = ctc_min_frames(p.y.back()), have = p.x[k].dim(0);
      if (need > have)
        throw Error(where_of(us[k]) + ": its transcript \"" + us[k].text + "\" needs at least " + std::to_string(need) +
                    " model frames under CTC (a frame per character, and a blank between equal neighbours), but the "
                    "recording gives " + std::to_string(have) + " (" + std::to_string(r.frame_seconds() * 1000) +
                    " ms a frame): use a smaller --stack or --hop-ms, or check that the transcript is this file's");
    }
  };
  labelled(train, tr);
  labelled(valid, va);

  const int64_t D = tr.x[0].dim(1), C = int64_t(r.labels.size()) + 1;
  Sequential& m = r.model;
  m = Sequential({.seed = o.seed, .name = "speech"});
  const bool augment = o.augment.frequency_masks > 0 || o.augment.time_masks > 0;
  if (augment) {
    SpecAugmentOptions sa = o.augment;
    sa.period = int(D / a.stack);  // a band masks the same features of each stacked frame
    sa.input_shape = {0, D};
    m.add(SpecAugment(sa));
  }
  for (int l = 0; l < a.layers; ++l) {
    if (l > 0 && a.dropout > 0) m.add(Dropout(a.dropout));
    const std::vector<int64_t> shape = l == 0 && !augment ? std::vector<int64_t>{0, D} : std::vector<int64_t>{};
    if (a.bidirectional)
      m.add(Bidirectional(LSTM(a.units, {.return_sequences = true}), {.input_shape = shape}));
    else
      m.add(LSTM(a.units, {.return_sequences = true, .input_shape = shape}));
  }
  m.add(Dense(int(C)));
  m.compile(Adam({.learning_rate = o.learning_rate, .global_clipnorm = o.clipnorm}), loss::ctc);

  std::vector<int64_t> lengths, val_lengths;
  const Tensor X = pad_inputs(tr.x, lengths), Y = pad_labels(tr.y);
  tr.x.clear();
  FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size, .verbose = o.verbose, .lengths = lengths,
                 .bucket_by_length = true};
  if (!valid.empty()) {
    fit.validation_x = pad_inputs(va.x, val_lengths);
    fit.validation_y = pad_labels(va.y);
    fit.validation_lengths = val_lengths;
    fit.callbacks.push_back(std::make_shared<EarlyStopping>(
        EarlyStoppingOptions{.monitor = "val_loss", .patience = o.patience, .restore_best_weights = true}));
  }
  va.x.clear();
  for (const auto& c : o.callbacks) fit.callbacks.push_back(c);
  const auto start = std::chrono::steady_clock::now();
  r.history = m.fit(X, Y, fit);
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace lstm
