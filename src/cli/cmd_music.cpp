// lstm music train | generate: melody models from MIDI files (lstm/music.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/models.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/lstm.h"
#include "lstm/music.h"
#include "report/report.h"

namespace lstm::cli {

const Command kMusicTrain{
    "music train",
    "Train a melody model on MIDI files: notes become tokens on a grid of --steps-per-quarter "
    "(pitch, duration, time shift; chords as notes at one step), the last --holdout of the tokens "
    "is scored (bits per token, perplexity); the grid goes in the model file.",
    options_of(options_of({{"midi", "DIR|FILE", "a MIDI file, or a folder searched for .mid/.midi files (repeat for several)", true},
     {"out", "FILE", "the model to write (.safetensors)"},
     {"steps-per-quarter", "N", "the grid: steps per quarter note (default 4: sixteenth notes)"},
     {"max-duration", "N", "longest note, in steps; longer ones are cut (default 32)"},
     {"max-shift", "N", "longest single time shift, in steps (default 16)"},
     {"max-rest", "N", "longest rest, in steps; longer ones are shortened (default 32)"},
     {"melody-only", "", "keep only the highest note of each step (one voice)"}}, next_token_flags(MusicOptions{}.training)),
               {{"report", "FILE", "write an HTML report: loss curves, piano rolls of the data and of a generated piece"},
                {"threads", "N", "threads (default: all cores)"},
                {"quiet", "", "print nothing but errors and the held-out score"}})};

const Command kMusicGenerate{
    "music generate",
    "Compose a piece with a melody model and write it as a MIDI file (format 1, one piano track).",
    {{"model", "FILE", "the model (lstm music train --out)"},
     {"out", "FILE", "the MIDI file to write (.mid)"},
     {"bars", "N", "bars to compose (default 8)"},
     {"temperature", "T", "0 for the most likely token, 1 for the model's own odds (default 1)"},
     {"top-k", "K", "draw from the K most likely tokens only (default 0: all)"},
     {"top-p", "P", "draw from the most likely tokens that make up P of the odds (default 1: all)"},
     {"seed", "N", "the draws: the same seed, the same piece (default 42)"},
     {"max-chord", "N", "notes that may start at one step, at most (default 8)"},
     {"tempo", "BPM", "quarter notes per minute (default: the training pieces' median)"},
     {"format", "0|1", "MIDI file format (default 1)"},
     {"report", "FILE", "write an HTML page with the piece's piano roll"},
     {"threads", "N", "threads (default: all cores)"}}};

namespace {

bool is_midi_name(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".mid" || ext == ".midi";
}

bool has_tones(const MidiFile& song) {
  return std::any_of(song.notes.begin(), song.notes.end(), [](const MidiNote& n) { return n.channel != kPercussionChannel; });
}

struct Pieces {
  std::vector<MidiFile> songs;
  std::vector<std::string> names;
};

// Every file named, and every .mid/.midi file under every folder named (in name order). A file
// named without notes is an error; one found in a folder is skipped with a warning.
Pieces read_pieces(const std::vector<std::string>& sources, bool quiet) {
  namespace fs = std::filesystem;
  Pieces p;
  for (const std::string& source : sources) {
    std::error_code ec;
    if (!fs::exists(source, ec)) throw Error(source + " does not exist: give a MIDI file or a folder of them");
    if (!fs::is_directory(source, ec)) {
      MidiFile song = read_midi(source);
      if (!has_tones(song))
        throw Error(source + " has no notes (percussion on channel 10 is not counted): give a MIDI file with notes");
      p.songs.push_back(std::move(song)), p.names.push_back(source);
      continue;
    }
    std::vector<fs::path> files;
    for (fs::recursive_directory_iterator it(source, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec) && is_midi_name(it->path())) files.push_back(it->path());
    if (ec) throw Error("cannot read the folder " + source + ": " + ec.message());
    if (files.empty()) throw Error(source + " holds no .mid or .midi file: give a folder of MIDI files");
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      MidiFile song = read_midi(f.string());
      if (!has_tones(song)) {
        if (!quiet) std::fprintf(stderr, "warning: %s has no notes; skipped\n", f.string().c_str());
        continue;
      }
      p.songs.push_back(std::move(song)), p.names.push_back(f.string());
    }
  }
  if (p.songs.empty()) throw Error("none of the MIDI files has notes to learn from");
  return p;
}

PianoRoll roll_of(const MidiFile& song, const std::string& title, double max_bars) {
  PianoRoll r;
  r.title = title;
  r.quarters_per_bar = 4.0 * song.numerator / song.denominator;
  const double tpq = song.ticks_per_quarter, end = max_bars * r.quarters_per_bar;
  for (const MidiNote& n : song.notes) {
    if (n.channel == kPercussionChannel || n.start / tpq >= end) continue;
    r.notes.push_back({n.start / tpq, std::min(n.duration / tpq, end - n.start / tpq), n.pitch});
  }
  return r;
}

}  // namespace

int run_music_train(const Args& a) {
  if (a.all("midi").empty()) throw UsageError("--midi DIR|FILE is required (repeat it for several)");
  const std::string out = a.required("out");
  check_outputs_distinct(a, {"out", "report"}, {"midi"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  MusicOptions o;
  o.grid.steps_per_quarter = int(a.integer("steps-per-quarter", 4, 1, 96));
  o.grid.max_duration = int(a.integer("max-duration", 32, 1, 1024));
  o.grid.max_shift = int(a.integer("max-shift", 16, 1, 1024));
  o.grid.max_rest = int(a.integer("max-rest", 32, 1, 1 << 20));
  o.grid.melody_only = a.has("melody-only");
  read_next_token_flags(a, o.training);
  const bool quiet = a.has("quiet");
  const Pieces pieces = read_pieces(a.all("midi"), quiet);
  int64_t notes = 0, tokens = 0;
  for (const MidiFile& s : pieces.songs) {
    for (const MidiNote& n : s.notes) notes += n.channel != kPercussionChannel;
    tokens += int64_t(o.grid.encode(s).size());
  }
  if (!quiet)
    std::printf("%zu pieces, %lld notes, %lld tokens (%lld in the vocabulary)\n", pieces.songs.size(),
                static_cast<long long>(notes), static_cast<long long>(tokens), static_cast<long long>(o.grid.size()));
  MusicModel m = train_music_model(pieces.songs, o);
  m.save(out);
  std::printf("held-out: %.4f bits per token, perplexity %.2f (%lld predictions)\n", m.heldout.bits_per_token(),
              m.heldout.perplexity(), static_cast<long long>(m.heldout.tokens));
  if (a.has("report")) {
    ReportContent r;
    r.title = "Melody model";
    const MidiFile piece = m.generate(8, {.temperature = 1.0f, .seed = 1});
    std::string sources;
    for (const std::string& s : a.all("midi")) sources += (sources.empty() ? "" : ", ") + s;
    r.facts = {{"MIDI", sources + " (" + std::to_string(pieces.songs.size()) + " pieces, " + std::to_string(notes) + " notes)"},
               {"grid", std::to_string(o.grid.steps_per_quarter) + " steps per quarter note; durations up to " +
                            std::to_string(o.grid.max_duration) + " steps, shifts up to " + std::to_string(o.grid.max_shift) +
                            (o.grid.melody_only ? "; highest voice only" : "; chords kept")},
               {"tokens", std::to_string(tokens) + " (vocabulary " + std::to_string(o.grid.size()) + ")"},
               {"model", "Embedding(" + std::to_string(o.training.embedding) + ") -> LSTM(" + std::to_string(o.training.units) + ") x " +
                             std::to_string(o.training.layers) + " -> Dense(" + std::to_string(o.grid.size()) + ", softmax)"},
               {"held-out", fixed(m.heldout.bits_per_token(), 4) + " bits per token, perplexity " +
                                fixed(m.heldout.perplexity(), 2) + " on the last " +
                                std::to_string(int(o.training.holdout * 100 + 0.5)) + "% (" + std::to_string(m.heldout.tokens) +
                                " predictions)"},
               {"generated", std::to_string(piece.notes.size()) + " notes in 8 bars (temperature 1, seed 1) at " +
                                 fixed(piece.bpm(), 0) + " bpm"}};
    r.history = m.history.history;
    r.rolls.push_back(roll_of(pieces.songs[0], "Training data: " + pieces.names[0] + " (first 16 bars)", 16));
    r.rolls.push_back(roll_of(piece, "Generated: 8 bars, temperature 1, seed 1", 8));
    write_file_atomic(a.str("report"), report_html(r), "report");
  }
  if (!quiet) std::printf("model written to %s\n", out.c_str());
  return 0;
}

int run_music_generate(const Args& a) {
  const std::string out = a.required("out");
  check_outputs_distinct(a, {"out", "report"}, {"model"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  MusicModel m = MusicModel::load(a.required("model"));
  SamplingOptions s;
  s.temperature = float(a.number("temperature", 1.0));
  s.top_k = a.integer("top-k", 0, 0, limits::kWidth);
  s.top_p = float(a.number("top-p", 1.0));
  s.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  if (a.has("tempo")) {
    const double bpm = a.number("tempo", 120.0);
    if (!(bpm >= 4.0 && bpm <= 1000.0)) throw UsageError("--tempo must be 4..1000 quarter notes per minute");
    m.tempo = int64_t(std::llround(60e6 / bpm));
  }
  const int64_t bars = a.integer("bars", 8, 1, 100000);
  MidiFile piece = m.generate(bars, s, int(a.integer("max-chord", 8, 1, 128)));
  piece.format = int(a.integer("format", 1, 0, 1));
  if (piece.format == 0)
    for (MidiNote& n : piece.notes) n.track = 0;
  write_midi(out, piece);
  std::printf("%s: %zu notes in %lld bars at %.0f bpm (%d/%d)\n", out.c_str(), piece.notes.size(),
              static_cast<long long>(bars), piece.bpm(), piece.numerator, piece.denominator);
  if (a.has("report")) {
    ReportContent r;
    r.title = "Generated piece";
    r.facts = {{"model", a.str("model")}, {"file", out},
               {"notes", std::to_string(piece.notes.size()) + " in " + std::to_string(bars) + " bars"},
               {"sampling", "temperature " + fixed(s.temperature, 2) + ", seed " + std::to_string(s.seed)}};
    r.rolls.push_back(roll_of(piece, "Generated: " + std::to_string(bars) + " bars", double(bars)));
    write_file_atomic(a.str("report"), report_html(r), "report");
  }
  return 0;
}

}  // namespace lstm::cli
