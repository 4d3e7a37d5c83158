// music.h - melodies: Standard MIDI Files in and out, notes as tokens, and a model that composes.
//
//   lstm::MidiFile song = lstm::read_midi("song.mid");            // every note, in ticks
//   lstm::MusicModel m = lstm::train_music_model({song, ...}, {.training = {.epochs = 10}});
//   lstm::MidiFile piece = m.generate(8, {.temperature = 1.0f, .seed = 1});   // 8 bars
//   lstm::write_midi("piece.mid", piece);
//
// ---- MIDI files ----------------------------------------------------------------------------
// A Standard MIDI File (format 0: one track; format 1: tracks played together) is read into its
// notes. A note starts at a Note On with velocity > 0 and ends at the next Note Off (or Note On
// with velocity 0) of the same key and channel; when one key is struck again before it is
// released the offs end the notes in the order they started (first in, first out); a note still
// sounding at its track's end ends there. Times are ticks from the start of the piece; the
// header's division gives ticks per quarter note (an SMPTE division, frames x ticks per second,
// is read as ticks per quarter note at 120 bpm, which keeps every time in seconds). Kept
// besides the notes: the first tempo (Set Tempo meta event), the first time signature and each
// channel's first program (instrument). Other events (controllers, pitch bend, lyrics, SysEx)
// are read past and dropped. Format 2 files (independent patterns) are refused.
//
// Bounds (docs/robustness.md): every chunk and event length is checked against the bytes that
// are there before it is read; a variable-length quantity has at most 4 bytes; a track longer
// than kMidiMaxTicks ticks is refused; notes and events are at most one per 3 bytes of file.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstm/model.h"
#include "lstm/text.h"

namespace lstm {

// T = ticks. A note: key `pitch` (60 = middle C) held from `start` for `duration` ticks.
struct MidiNote {
  int64_t start = 0;     // ticks from the start of the piece, >= 0
  int64_t duration = 0;  // ticks, >= 0
  int pitch = 60;        // 0..127
  int velocity = 80;     // 1..127
  int channel = 0;       // 0..15; 9 is percussion (General MIDI's channel 10)
  int track = 0;         // the track it is in (format 0: 0; format 1: the track chunk's index)
  bool operator==(const MidiNote&) const = default;
};

constexpr int64_t kMidiMaxTicks = int64_t(1) << 40;
constexpr int kPercussionChannel = 9;

struct MidiFile {
  int format = 1;                 // 0 or 1
  int ticks_per_quarter = 480;    // 1..32767
  int64_t tempo = 500000;         // microseconds per quarter note (120 bpm when the file has none)
  int numerator = 4, denominator = 4;  // the time signature (4/4 when the file has none)
  std::array<int, 16> programs = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};  // per channel; -1: none
  std::vector<MidiNote> notes;    // by start, then pitch, channel and track

  double bpm() const { return 60e6 / double(tempo); }
};

// The notes of a MIDI file's bytes; `what` names it in messages ("song.mid"). Throws lstm::Error
// naming the byte offset of anything malformed or truncated, and what to do.
MidiFile parse_midi(std::string_view bytes, const std::string& what = "the MIDI file");
MidiFile read_midi(const std::string& path);
// A Standard MIDI File of `song`: format 0 (one track) or 1 (a first track with the tempo and
// time signature, then one track per distinct MidiNote::track, in increasing order), each note
// a Note On at its start and a Note Off at its end; at one tick the offs of notes that started
// earlier come first, so a key struck again at the tick it is released reads back as two notes.
// A file written here reads back note for note (parse_midi(midi_bytes(s)).notes == s.notes for
// notes in tracks 1... of a format 1 file or track 0 of a format 0 one) as long as no key of a
// channel is struck again before it is released. Throws lstm::Error on values out of range.
std::string midi_bytes(const MidiFile& song);
void write_midi(const std::string& path, const MidiFile& song);  // atomically (io/file.h)

// ---- notes as tokens -----------------------------------------------------------------------
// A piece is read on a grid of `steps_per_quarter` steps per quarter note (4: sixteenth notes):
// each note's start is rounded to the nearest step, its duration to the nearest step (at least
// 1, at most max_duration). Percussion (channel 9) is left out; a key struck twice at one step
// is one note (the longer). Then, in time order:
//
//   start                     the beginning of a piece (each piece begins with it)
//   shift(s), s = 1..max_shift   move the time s steps on (a longer gap is several shifts; a
//                             rest longer than max_rest steps is shortened to max_rest)
//   pitch(p), p = 0..127      a note of key p starts now; always followed by
//   duration(d), d = 1..max_duration   its length in steps
//
// Notes that start together (chords) are pitch/duration pairs with no shift between them, lowest
// key first. Ids: 0 padding, 1 start, 2 + p pitches, 130 + d - 1 durations, 130 + max_duration +
// s - 1 shifts. Velocities, instruments and channels are not tokens: a decoded piece is one
// piano part at velocity 80. With `melody_only`, only the highest key of each step is kept and it
// is cut at the next note's start: one voice, as a melody line.
struct NoteGrid {
  int steps_per_quarter = 4;  // 1..96
  int max_duration = 32;      // steps, 1..1024
  int max_shift = 16;         // steps, 1..1024
  int max_rest = 32;          // steps, >= 1
  bool melody_only = false;

  static constexpr int64_t kPad = 0, kStart = 1, kFirstPitch = 2;
  enum class Kind { padding, start, pitch, duration, shift };
  int64_t size() const { return kFirstPitch + 128 + max_duration + max_shift; }
  int64_t pitch_token(int pitch) const { return kFirstPitch + pitch; }
  int64_t duration_token(int steps) const { return kFirstPitch + 128 + steps - 1; }
  int64_t shift_token(int steps) const { return kFirstPitch + 128 + max_duration + steps - 1; }
  Kind kind(int64_t id) const;  // throws lstm::Error for ids outside 0..size()-1
  int value(int64_t id) const;  // the pitch, duration or shift of a token; 0 for the others
  std::string describe(int64_t id) const;  // "start", "C4", "d4", "s2", "pad"
  void check() const;  // throws lstm::Error naming a field out of range

  // The tokens of a piece: start, then the notes as above (percussion left out). Empty notes
  // give {start}.
  std::vector<int64_t> encode(const MidiFile& song) const;
  // The notes of tokens (start tokens and a pitch without its duration are skipped; a duration
  // without a pitch is ignored), in a format 1 file of one track at ticks_per_quarter =
  // 120 x steps_per_quarter, channel 0, velocity 80, with the given tempo and time signature.
  MidiFile decode(std::span<const int64_t> ids, int64_t tempo = 500000, int numerator = 4,
                  int denominator = 4) const;
};

// ---- the melody model ----------------------------------------------------------------------
// The language model of text.h on note tokens: Embedding(V, embedding) -> LSTM(units) x layers
// -> TimeDistributed(Dense(V, softmax)), sparse categorical cross-entropy on windows of
// `lookback` tokens of the pieces' tokens one after another (in the order given), the last
// `holdout` of them scored and never trained on (train_next_token_model).
struct MusicOptions {
  NoteGrid grid;
  // The network, its training and the held-out part as for text (text.h; `vocabulary` is not
  // used). By default the last 10% of the training tokens decide when to stop (patience 3, the
  // best epoch's weights kept), within 30 epochs: melody sets are small and overfit early.
  LanguageModelOptions training = {.epochs = 30, .validation = 0.1};
};

struct MusicModel {
  Sequential model;
  NoteGrid grid;
  int64_t lookback = 100;              // the training windows' length, which score() uses too
  int64_t tempo = 500000;              // of generated pieces: the median of the training pieces'
  int numerator = 4, denominator = 4;  // the training pieces' most common time signature
  History history;     // of training (empty after load)
  TextScore heldout;   // of training: bits per token and perplexity (tokens = 0 after load)

  int64_t steps_per_bar() const;  // steps_per_quarter x 4 x numerator / denominator (at least 1)
  // A piece of `bars` bars drawn one token at a time through Model::step from a start token:
  // the draw is kept to what can come next (a duration after a pitch; otherwise a new key at
  // this step, at most max_chord of them, or a shift), and it ends when the time reaches the
  // end of the last bar. The same seed gives the same piece. on_note (optional) sees each note
  // as it is drawn.
  MidiFile generate(int64_t bars, SamplingOptions sampling = {}, int max_chord = 8,
                    const std::function<void(const MidiNote&)>& on_note = {});
  // The next-token loss on a piece's tokens (windows of the training lookback).
  TextScore score(const MidiFile& song);
  // The model file with the grid, tempo and time signature in its metadata ("lstm.music");
  // load refuses a model file without it.
  void save(const std::string& path);
  static MusicModel load(const std::string& path);
};

MusicModel train_music_model(std::span<const MidiFile> songs, const MusicOptions& options = {});

}  // namespace lstm
