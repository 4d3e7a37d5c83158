// lstm/speech.h - speech recognition: audio files to text with an LSTM trained by CTC
// (Graves et al. 2006, 2013), offline and streaming.
//
//   auto train = lstm::read_transcripts("data/train.tsv", "data");     // path<TAB>text lines
//   auto valid = lstm::read_transcripts("data/valid.tsv", "data");
//   lstm::SpeechRecognizer r = lstm::train_speech(train, valid, {.features = {.sample_rate = 8000}});
//   std::string text = r.transcribe(lstm::read_audio("four.wav"));     // "four"
//   r.save("digits.safetensors");
//
// The pipeline: audio (any rate) -> resampled to features.sample_rate -> features (lstm/audio.h,
// their options and global statistics kept in the model file) -> `stack` consecutive frames
// joined into one (a shorter sequence: stack 2 halves the LSTM's work) -> the acoustic model
// -> per-frame logits over the blank and the characters -> CTC decoding (lstm/ctc.h) -> text.
//
// The acoustic model, from the public layers (a Sequential a user can read with summary()):
//   [T/stack, F·stack] -> (Bidirectional(LSTM(units)) or LSTM(units), returning sequences)
//   x layers, Dropout(dropout) between them -> Dense(labels + 1): logits, class 0 the blank
// trained with loss::ctc, Adam with gradient clipping, batches bucketed by length, early
// stopping on the validation loss (the best epoch's weights kept).
//
// Text: transcripts are lower-cased, runs of whitespace read as one space, and trimmed; the
// labels are the characters of the training transcripts (the space among them), in code-point
// order, label k + 1 = labels[k].
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lstm/audio.h"
#include "lstm/ctc.h"
#include "lstm/model.h"
#include "lstm/seq2seq.h"

namespace lstm {

struct Utterance {
  std::string path;   // the audio file
  std::string text;   // the transcript, normalised (see above)
  int64_t line = 0;   // in the transcripts file, for messages
};

// Lines "path<TAB>text" (UTF-8; "\r\n" read as "\n"; blank lines skipped), each path relative
// to audio_dir unless absolute. Throws lstm::Error naming the line and the fix for a line
// without exactly one tab, an empty path or text, text that is not UTF-8, and for a file with
// no utterance. Files are not opened here.
std::vector<Utterance> read_transcripts(const std::string& tsv, const std::string& audio_dir);
std::string normalize_transcript(std::string_view text);

struct SpeechArchitecture {
  int layers = 2;
  int units = 128;             // per direction
  bool bidirectional = true;   // false: the streaming model (reads left to right only)
  float dropout = 0.0f;        // between recurrent layers, in [0, 1)
  int stack = 2;               // frames joined into one, 1..8
};

struct SpeechOptions {
  FeatureOptions features = {.mel_bands = 40, .deltas = 0, .normalization = Normalization::global};
  SpeechArchitecture architecture;
  int epochs = 30, batch_size = 32;
  float learning_rate = 2e-3f, clipnorm = 5.0f;
  int patience = 5;     // epochs without a better validation loss before stopping
  // SpecAugment's masks in training (lstm/layers/spec_augment.h), on the model's input frames:
  // frequency bands in feature dimensions of one frame (period: set by train_speech to the
  // features per frame), time spans in model frames. No masks by default; the model file then
  // starts with the layer, which passes its input through outside training.
  SpecAugmentOptions augment = {.frequency_masks = 0, .time_masks = 0};
  uint64_t seed = 42;
  int verbose = 1;      // as FitOptions::verbose
  std::vector<std::shared_ptr<Callback>> callbacks;  // run after early stopping's
};

struct TranscribeOptions {
  int beam = 1;             // 1: greedy (best path); more: prefix beam search
  // Only words of the lexicon, joined by spaces (beam search; with beam 1 a beam of 16 is
  // used): "training" for the words of the training transcripts (kept in the model file).
  std::vector<std::string> lexicon;
  float word_score = 0.0f;  // with a lexicon: added per word (CtcBeamOptions::word_score)
  int64_t batch_size = 16;  // utterances per forward pass
};

// One utterance's frame-level outputs, for pictures: features [frames, dims] (after
// stacking) and the softmax of the logits [frames, labels + 1].
struct FrameOutputs {
  Tensor features, probabilities;
};

class SpeechStream;

struct SpeechRecognizer {
  Sequential model;
  FeatureOptions features;   // with the global statistics when normalization is global
  SpeechArchitecture architecture;
  std::vector<std::string> labels;   // label k + 1 = labels[k]
  std::vector<std::string> words;    // the training transcripts' words, sorted
  History history;                   // of training (empty after load)
  double train_seconds = 0.0;        // fit()'s wall time (0 after load)
  double audio_seconds = 0.0;        // of the training audio (0 after load)

  // The model's input for one recording: resampled, features, stacked: [T, F·stack]. Throws
  // lstm::Error for audio shorter than one model frame, or silent (peak below -80 dBFS).
  Tensor input_of(const Audio& audio, const std::string& name = "the audio") const;
  // (Not const: the model keeps its working memory from call to call.)
  std::string transcribe(const Audio& audio, const TranscribeOptions& options = {});
  std::vector<std::string> transcribe(std::span<const Audio> audio, const TranscribeOptions& options = {},
                                      std::span<const std::string> names = {});
  FrameOutputs frame_outputs(const Audio& audio);
  // Word and character error rates (SequenceScores: word_error_rate, token_error_rate = CER,
  // exact_match = sentences right) of the utterances; their outputs and the seconds of audio
  // read, when asked for.
  SequenceScores evaluate(std::span<const Utterance> utterances, const TranscribeOptions& options = {},
                          std::vector<std::string>* outputs = nullptr, double* audio_seconds = nullptr);
  // Labels of a text (normalised); throws lstm::Error naming a character outside the labels.
  std::vector<int> encode(const std::string& text, const std::string& where) const;
  std::string decode(std::span<const int> labels) const;
  double frame_seconds() const;  // the model's frame: hop × stack

  // The model file with "lstm.speech" (features, architecture, labels, words) in its metadata;
  // load refuses a file without it, naming what the file is instead.
  void save(const std::string& path);
  static SpeechRecognizer load(const std::string& path);
};

// Trains a recogniser. Every file is read, resampled and featurised first (errors name the
// file and its line: unreadable audio, silence, a clip shorter than one frame, a transcript
// longer than its frames can carry under CTC, a validation character outside the training
// labels). Global statistics come from the training frames.
SpeechRecognizer train_speech(std::span<const Utterance> train, std::span<const Utterance> valid,
                              const SpeechOptions& options = {});

// Streaming recognition with a unidirectional model: audio pushed as it arrives (any block
// size, at `input_rate`), text out as soon as greedy decoding of the frames so far settles it.
// The model runs through Sequential::step() on its own copy, so that after the first block a
// push allocates nothing but the text it returns (the resampler and feature buffers aside,
// which reach their size after the first blocks). Its text at finish() equals transcribe()'s
// greedy output for the whole recording.
class SpeechStream {
 public:
  SpeechStream(const SpeechRecognizer& recognizer, int input_rate);
  ~SpeechStream();
  // Appends the samples; returns the characters decided by them (often empty).
  std::string push(std::span<const float> samples);
  std::string finish();  // the rest; the stream then starts over
  int64_t frames() const;  // model frames so far
  // The delay from a sample's arrival to the model's step on it, in seconds: a frame's length
  // plus the deltas' look-ahead plus stacking (decoding adds no delay beyond the frame).
  double latency_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lstm
