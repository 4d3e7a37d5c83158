// lstm speech train | transcribe | evaluate: recognisers from audio files and their
// transcripts (lstm/speech.h).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/lstm.h"
#include "report/report.h"

namespace lstm::cli {

namespace {

const std::vector<Option> kDecode = {
    {"beam", "K", "prefix beam search of width K; 1 is greedy best-path decoding (default 1)"},
    {"lexicon", "WORDS", "only these words, joined by spaces: 'training' (the training transcripts' words, "
                         "kept in the model), a file of one word per line, or words separated by commas"},
    {"word-score", "X", "with --lexicon: added to a hypothesis' log-probability per word; negative "
                        "values stop words being inserted (default 0)"},
    {"batch-size", "N", "recordings per forward pass (default 16)"}};

TranscribeOptions transcribe_options(const Args& a) {
  TranscribeOptions o;
  o.beam = int(a.integer("beam", 1, 1, 4096));
  o.batch_size = a.integer("batch-size", 16, 1, 1 << 16);
  if (a.has("lexicon")) {
    const std::string v = a.str("lexicon");
    if (v == "training") {
      o.lexicon = {"training"};
    } else if (std::filesystem::is_regular_file(v)) {
      for (const std::string_view line : split_lines(read_file(v, "lexicon")))
        if (!normalize_transcript(line).empty()) o.lexicon.push_back(std::string(line));
    } else {
      std::string word;
      for (char c : v + ",") {
        if (c != ',') word += c;
        else if (!word.empty()) o.lexicon.push_back(word), word.clear();
      }
    }
    if (o.lexicon.empty()) throw UsageError("--lexicon names no word");
  }
  o.word_score = float(a.number("word-score", 0.0));
  if (o.word_score != 0.0f && o.lexicon.empty()) throw UsageError("--word-score needs --lexicon");
  return o;
}

std::string scores_text(const SequenceScores& s) {
  return "recordings " + std::to_string(s.sequences) + "\nword error rate " + fixed(s.word_error_rate, 4) +
         "\ncharacter error rate " + fixed(s.token_error_rate, 4) + "\nsentences right " + fixed(s.exact_match, 4) + "\n";
}

// The report's picture of one recording: its features and the network's per-frame output.
Spectrogram example_picture(SpeechRecognizer& r, const Utterance& u) {
  const FrameOutputs f = r.frame_outputs(read_audio(u.path));
  Spectrogram s;
  const int64_t stack = r.architecture.stack, dims = f.features.dim(1) / stack;
  s.title = "Example: " + u.path + " (\"" + u.text + "\"): features, and the network's output per frame";
  s.frames = f.features.dim(0) * stack, s.bins = dims;
  s.values.assign(f.features.data(), f.features.data() + f.features.size());  // stacked rows run on
  s.classes.push_back("blank");
  for (const std::string& l : r.labels) s.classes.push_back(l);
  s.steps = f.probabilities.dim(0);
  s.probabilities.assign(f.probabilities.data(), f.probabilities.data() + f.probabilities.size());
  return s;
}

}  // namespace

const Command kSpeechTrain{
    "speech train",
    "Train a speech recogniser: a (bidirectional) LSTM over log-mel or MFCC features, trained "
    "with CTC on recordings and their transcripts; prints the validation error rates; the model "
    "file carries the feature settings, so transcribe takes raw audio.",
    {{"audio", "DIR", "the folder the transcripts' paths are relative to"},
     {"transcripts", "FILE", "training recordings: path<TAB>text per line, e.g. 'a/1.wav<TAB>four one seven'"},
     {"valid", "FILE", "validation recordings, the same format (paths relative to --audio): early stopping and scores"},
     {"out", "FILE", "the model to write (.safetensors)"},
     {"sample-rate", "HZ", "the model's rate; recordings are resampled to it (default 16000)"},
     {"features", "KIND", "log_mel (default) or mfcc"},
     {"mel-bands", "N", "mel filters (default 40)"},
     {"mfcc", "N", "cepstral coefficients kept, for --features mfcc (default 13)"},
     {"deltas", "N", "0, 1 or 2: add deltas and delta-deltas (default 0)"},
     {"frame-ms", "MS", "analysis window (default 25)"},
     {"hop-ms", "MS", "frame step (default 10)"},
     {"normalization", "HOW", "global (default: training statistics, streamable), utterance or none"},
     {"stack", "K", "consecutive frames joined into one model frame (default 2)"},
     {"units", "N", "LSTM units per direction (default 128)"},
     {"layers", "N", "stacked LSTM layers (default 2)"},
     {"unidirectional", "", "read left to right only: a model that can stream (transcribe --stream)"},
     {"dropout", "X", "dropout between LSTM layers (default 0)"},
     {"frequency-masks", "N", "SpecAugment in training: bands of features masked per recording (default 0)"},
     {"frequency-width", "W", "each band's width at most, in features of one frame (default 8)"},
     {"time-masks", "N", "SpecAugment in training: spans of model frames masked per recording (default 0)"},
     {"time-width", "W", "each span's model frames at most (default 10)"},
     {"epochs", "N", "passes over the training recordings at most (default 30)"},
     {"batch-size", "N", "recordings per batch, bucketed by length (default 32)"},
     {"lr", "X", "Adam's learning rate (default 0.002)"},
     {"clipnorm", "X", "gradients' global norm at most (default 5)"},
     {"patience", "N", "epochs without a better validation loss before stopping (default 5)"},
     {"seed", "N", "initial weights and shuffling (default 42)"},
     {"report", "FILE", "write an HTML report: loss curves, error rates, examples"},
     {"quiet", "", "print nothing but errors and the scores"},
     {"threads", "N", "threads (default: all cores)"}}};

const Command kSpeechTranscribe{
    "speech transcribe",
    "Transcribe recordings with a trained model: one line 'path<TAB>text' per file. With "
    "--stream, raw PCM from standard input, text printed as it is recognised.",
    with_shared_options({{"model", "FILE", "the model (lstm speech train --out)"},
                 {"file", "FILE", "a recording (repeatable; also positional)", true},
                 {"stream", "", "read raw PCM from standard input until its end; needs a --unidirectional model"},
                 {"rate", "HZ", "--stream and --raw: the input's sample rate (default 16000)"},
                 {"encoding", "ENC", "--stream and --raw: s16le (default), s24le, s32le, f32le, u8, mulaw, alaw"},
                 {"channels", "N", "--stream and --raw: interleaved channels, averaged (default 1)"},
                 {"raw", "", "the files are headerless PCM as --rate/--encoding/--channels say"},
                 {"threads", "N", "threads (default: all cores)"}},
                        kDecode),
    "file"};

const Command kSpeechEvaluate{
    "speech evaluate",
    "Score a trained model on recordings with transcripts: word and character error rates, and "
    "the fraction of recordings transcribed exactly.",
    with_shared_options({{"model", "FILE", "the model (lstm speech train --out)"},
                 {"audio", "DIR", "the folder the transcripts' paths are relative to"},
                 {"transcripts", "FILE", "path<TAB>text per line"},
                 {"out", "FILE", "also write path<TAB>reference<TAB>output per line"},
                 {"report", "FILE", "write an HTML report: the scores, every output, and pictures of the "
                                    "first recordings transcribed wrong (features and per-frame output)"},
                 {"threads", "N", "threads (default: all cores)"}},
                kDecode)};

int run_speech_train(const Args& a) {
  const std::string dir = a.required("audio"), tsv = a.required("transcripts"), out = a.required("out");
  check_outputs_distinct(a, {"out", "report"}, {"transcripts", "valid"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  SpeechOptions o;
  FeatureOptions& f = o.features;
  f.sample_rate = int(a.integer("sample-rate", 16000, 1000, 384000));
  try {
    f.kind = feature_kind_from_name(a.str("features", "log_mel"));
    f.normalization = normalization_from_name(a.str("normalization", "global"));
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  f.mel_bands = int(a.integer("mel-bands", 40, 1, 1024));
  f.mfcc = int(a.integer("mfcc", 13, 1, 1024));
  f.deltas = int(a.integer("deltas", 0, 0, 2));
  f.frame_ms = a.number("frame-ms", 25.0);
  f.hop_ms = a.number("hop-ms", 10.0);
  SpeechArchitecture& arch = o.architecture;
  arch.stack = int(a.integer("stack", 2, 1, 8));
  arch.units = int(a.integer("units", 128, 1, 8192));
  arch.layers = int(a.integer("layers", 2, 1, 16));
  arch.bidirectional = !a.has("unidirectional");
  arch.dropout = float(a.number("dropout", 0.0));
  o.augment.frequency_masks = int(a.integer("frequency-masks", 0, 0, 64));
  o.augment.frequency_width = int(a.integer("frequency-width", 8, 0, 1024));
  o.augment.time_masks = int(a.integer("time-masks", 0, 0, 64));
  o.augment.time_width = int(a.integer("time-width", 10, 0, 1 << 20));
  o.epochs = int(a.integer("epochs", 30, 1, limits::kEpochs));
  o.batch_size = int(a.integer("batch-size", 32, 1, 1 << 20));
  o.learning_rate = float(a.number("lr", 0.002));
  o.clipnorm = float(a.number("clipnorm", 5.0));
  o.patience = int(a.integer("patience", 5, 0, 1 << 20));
  o.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  o.verbose = a.has("quiet") ? 0 : 1;
  const std::vector<Utterance> train = read_transcripts(tsv, dir);
  std::vector<Utterance> valid;
  if (a.has("valid")) valid = read_transcripts(a.str("valid"), dir);
  SpeechRecognizer r = train_speech(train, valid, o);
  r.save(out);
  std::printf("trained in %.1f s (%d epochs) on %zu recordings (%.1f min of audio); %lld parameters\n",
              r.train_seconds, r.history.epochs(), train.size(), r.audio_seconds / 60.0,
              (long long)r.model.count_params());
  SequenceScores s;
  std::vector<std::string> outputs;
  if (!valid.empty()) {
    s = r.evaluate(valid, {}, &outputs);
    std::printf("validation (%zu recordings, greedy):\n%s", valid.size(), scores_text(s).c_str());
  }
  if (!a.has("report")) return 0;
  ReportContent rep;
  rep.title = "Speech recognition";
  rep.facts = {{"training data", tsv + " (" + std::to_string(train.size()) + " recordings, " +
                                      fixed(r.audio_seconds / 60.0, 1) + " min)"},
               {"features", std::string(feature_kind_name(r.features.kind)) + ", " + std::to_string(r.features.mel_bands) +
                                " mel bands, deltas " + std::to_string(r.features.deltas) + ", " +
                                std::to_string(r.features.sample_rate) + " Hz, " + fixed(r.frame_seconds() * 1000, 0) +
                                " ms a model frame"},
               {"model", std::string(arch.bidirectional ? "bidirectional " : "") + "LSTM(" + std::to_string(arch.units) +
                             ") x " + std::to_string(arch.layers) + " -> Dense(" + std::to_string(r.labels.size() + 1) +
                             "), CTC; " + std::to_string(r.model.count_params()) + " parameters"},
               {"training time", fixed(r.train_seconds, 1) + " s"}};
  rep.history = r.history.history;
  if (!valid.empty()) {
    rep.tables.push_back({"Validation scores (greedy)", {"metric", "value"},
                          {{"recordings", std::to_string(s.sequences)},
                           {"word error rate", fixed(s.word_error_rate, 4)},
                           {"character error rate", fixed(s.token_error_rate, 4)},
                           {"sentences right", fixed(s.exact_match, 4)}}});
    ReportTable ex{"Examples (the first validation recordings)", {"recording", "transcript", "recognised"}, {}};
    for (size_t k = 0; k < std::min<size_t>(20, valid.size()); ++k)
      ex.rows.push_back({valid[k].path, valid[k].text, outputs[k]});
    rep.tables.push_back(std::move(ex));
  }
  rep.spectrograms.push_back(example_picture(r, valid.empty() ? train[0] : valid[0]));
  write_file_atomic(a.str("report"), report_html(rep), "report");
  return 0;
}

static int transcribe_stream(const Args& a, SpeechRecognizer& r) {
  if (a.has("beam") || a.has("lexicon") || a.has("word-score") || a.has("raw") || !a.all("file").empty())
    throw UsageError("--stream reads standard input and decodes greedily as frames arrive: --beam, --lexicon, "
                     "--word-score, --raw and files apply to whole recordings (leave --stream off for them)");
  RawFormat f{int(a.integer("rate", 16000, 1000, 384000)), int(a.integer("channels", 1, 1, 64)), a.str("encoding", "s16le")};
  raw_sample_bytes(f.encoding);
  SpeechStream stream(r, f.sample_rate);
  std::fprintf(stderr, "streaming: %d Hz %s, %d channel(s); model latency %.0f ms\n", f.sample_rate,
               f.encoding.c_str(), f.channels, stream.latency_seconds() * 1000);
  std::vector<unsigned char> bytes;
  std::vector<unsigned char> block(4096);
  std::vector<float> samples;
  for (;;) {
    const ssize_t got = ::read(0, block.data(), block.size());
    if (got < 0) throw Error("reading standard input failed");
    if (got == 0) break;
    bytes.insert(bytes.end(), block.begin(), block.begin() + got);
    samples.clear();
    const size_t used = decode_raw_audio(bytes, f, samples);
    bytes.erase(bytes.begin(), bytes.begin() + ptrdiff_t(used));
    const std::string text = stream.push(samples);
    if (!text.empty()) {
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    }
  }
  std::printf("%s\n", stream.finish().c_str());
  return 0;
}

int run_speech_transcribe(const Args& a) {
  SpeechRecognizer r = SpeechRecognizer::load(a.required("model"));
  if (a.has("stream")) return transcribe_stream(a, r);
  const std::vector<std::string> files = a.all("file");
  if (files.empty()) throw UsageError("give recordings: lstm speech transcribe --model M a.wav b.wav (or --stream)");
  const TranscribeOptions o = transcribe_options(a);
  const RawFormat raw{int(a.integer("rate", 16000, 1000, 384000)), int(a.integer("channels", 1, 1, 64)),
                      a.str("encoding", "s16le")};
  auto read = [&](const std::string& path) { return a.has("raw") ? read_raw_audio(path, raw) : read_audio(path); };
  // every file checked first (readable, not silent, at least a frame long), so that a bad one
  // stops the run before any line is printed; then transcribed in batches, read again
  for (const std::string& f : files) r.input_of(read(f), f);
  for (size_t at = 0; at < files.size(); at += size_t(o.batch_size)) {
    std::vector<Audio> audio;
    std::vector<std::string> names;
    for (size_t k = at; k < std::min(files.size(), at + size_t(o.batch_size)); ++k) {
      audio.push_back(read(files[k]));
      names.push_back(files[k]);
    }
    const std::vector<std::string> text = r.transcribe(audio, o, names);
    for (size_t k = 0; k < text.size(); ++k) std::printf("%s\t%s\n", names[k].c_str(), text[k].c_str());
    std::fflush(stdout);
  }
  return 0;
}

int run_speech_evaluate(const Args& a) {
  check_outputs_distinct(a, {"out", "report"}, {"model", "transcripts"});
  if (a.has("out")) check_writable(a.str("out"));
  if (a.has("report")) check_writable(a.str("report"));
  SpeechRecognizer r = SpeechRecognizer::load(a.required("model"));
  const std::vector<Utterance> us = read_transcripts(a.required("transcripts"), a.required("audio"));
  const TranscribeOptions o = transcribe_options(a);
  std::vector<std::string> outputs;
  const auto began = std::chrono::steady_clock::now();
  double audio = 0;
  const SequenceScores s = r.evaluate(us, o, &outputs, &audio);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::fputs(scores_text(s).c_str(), stdout);
  std::printf("transcribed %.1f s of audio in %.2f s (beam %d%s%s): real-time factor %.4f\n", audio, seconds, o.beam,
              o.lexicon.empty() ? "" : ", lexicon",
              o.word_score != 0.0f ? (", word score " + fixed(o.word_score, 2)).c_str() : "", seconds / audio);
  if (a.has("out")) {
    std::string tsv;
    for (size_t k = 0; k < outputs.size(); ++k) tsv += us[k].path + "\t" + us[k].text + "\t" + outputs[k] + "\n";
    write_file_atomic(a.str("out"), tsv, "outputs");
  }
  if (a.has("report")) {
    ReportContent rep;
    rep.title = "Speech recognition: evaluation";
    rep.facts = {{"model", a.str("model") + " (" + std::to_string(r.model.count_params()) + " parameters)"},
                 {"recordings", a.str("transcripts") + " (" + std::to_string(us.size()) + ", " + fixed(audio, 1) + " s)"},
                 {"decoding", o.beam == 1 && o.lexicon.empty()
                                  ? "greedy"
                                  : "beam " + std::to_string(o.beam) + (o.lexicon.empty() ? "" : ", lexicon") +
                                        (o.word_score != 0.0f ? ", word score " + fixed(o.word_score, 2) : "")}};
    rep.tables.push_back({"Scores", {"metric", "value"},
                          {{"recordings", std::to_string(s.sequences)},
                           {"word error rate", fixed(s.word_error_rate, 4)},
                           {"character error rate", fixed(s.token_error_rate, 4)},
                           {"sentences right", fixed(s.exact_match, 4)}}});
    ReportTable rows{"Every recording", {"recording", "transcript", "recognised", "right"}, {}};
    int pictures = 0;
    for (size_t k = 0; k < us.size(); ++k) {
      rows.rows.push_back({us[k].path, us[k].text, outputs[k], outputs[k] == us[k].text ? "yes" : "no"});
      if (outputs[k] != us[k].text && pictures < 3) {
        rep.spectrograms.push_back(example_picture(r, us[k]));
        rep.spectrograms.back().title = "Wrong: " + us[k].path + ": \"" + us[k].text + "\" read as \"" + outputs[k] + "\"";
        ++pictures;
      }
    }
    rep.tables.push_back(std::move(rows));
    write_file_atomic(a.str("report"), report_html(rep), "report");
  }
  return 0;
}

}  // namespace lstm::cli
