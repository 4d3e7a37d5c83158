// Music (lstm/music.h): MIDI files written and read back note for note, files written by hand
// byte by byte (running status, velocity-0 offs, skipped events and chunks, SMPTE), every bad
// file a clear error, the note tokens exactly, and a melody model that learns, generates the
// same piece for a seed and travels in its file.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lstm/error.h"
#include "lstm/music.h"
#include "test_util.h"

namespace lstm {
namespace {

using Ids = std::vector<int64_t>;
using Bytes = std::vector<uint8_t>;

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

// "MThd" format/tracks/division, then each track as "MTrk" + length + its events.
std::string smf(int format, int division, const std::vector<Bytes>& tracks) {
  Bytes out = {'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, uint8_t(format), 0, uint8_t(tracks.size()),
               uint8_t(division >> 8), uint8_t(division & 0xFF)};
  for (const Bytes& t : tracks) {
    const size_t n = t.size();
    Bytes head = {'M', 'T', 'r', 'k', uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
    out.insert(out.end(), head.begin(), head.end());
    out.insert(out.end(), t.begin(), t.end());
  }
  return as_string(out);
}

MidiFile sample_song(int format) {
  MidiFile s;
  s.format = format;
  s.ticks_per_quarter = 96;
  s.tempo = 400000;  // 150 bpm
  s.numerator = 3, s.denominator = 4;
  s.programs[0] = 0, s.programs[1] = 33;
  const int melody = format == 0 ? 0 : 1, bass = format == 0 ? 0 : 2;
  s.notes = {
      {0, 96, 60, 90, 0, melody},  {0, 96, 64, 70, 0, melody}, {0, 96, 67, 70, 0, melody},  // a chord
      {0, 288, 36, 100, 1, bass},                                                         // bass, another track
      {96, 48, 62, 80, 0, melody}, {144, 48, 62, 81, 0, melody},  // one key again as it is released
      {192, 0, 72, 50, 0, melody},                                // a zero-length note
      {200, 5000, 127, 127, 9, bass},                             // percussion, long
  };
  std::stable_sort(s.notes.begin(), s.notes.end(), [](const MidiNote& a, const MidiNote& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    if (a.channel != b.channel) return a.channel < b.channel;
    return a.track < b.track;
  });
  return s;
}

TEST(Midi, WrittenFilesReadBackNoteForNote) {
  for (int format : {0, 1}) {
    const MidiFile s = sample_song(format);
    const MidiFile r = parse_midi(midi_bytes(s), "written");
    EXPECT_EQ(r.format, format);
    EXPECT_EQ(r.ticks_per_quarter, 96);
    EXPECT_EQ(r.tempo, 400000);
    EXPECT_EQ(r.numerator, 3);
    EXPECT_EQ(r.denominator, 4);
    EXPECT_EQ(r.programs, s.programs);
    ASSERT_EQ(r.notes.size(), s.notes.size()) << "format " << format;
    for (size_t k = 0; k < s.notes.size(); ++k) EXPECT_EQ(r.notes[k], s.notes[k]) << "format " << format << ", note " << k;
  }
  test::TempDir dir;
  write_midi(dir.file("song.mid"), sample_song(1));
  EXPECT_EQ(read_midi(dir.file("song.mid")).notes, sample_song(1).notes);
  MidiFile bad = sample_song(1);
  bad.notes[0].pitch = 128;
  EXPECT_ERROR_WITH(midi_bytes(bad), "out of range");
  bad = sample_song(1);
  bad.denominator = 3;
  EXPECT_ERROR_WITH(midi_bytes(bad), "time signature");
}

TEST(Midi, ReadsRunningStatusVelocityZeroOffsAndSkipsWhatIsNotANote) {
  // track 0: tempo 600000, 6/8, a SysEx, a text event; track 1: on C4, running-status on E4,
  // a controller, on-velocity-0 ends C4, note-off ends E4, pitch bend; an unknown chunk between
  const Bytes conductor = {0x00, 0xFF, 0x51, 0x03, 0x09, 0x27, 0xC0, 0x00, 0xFF, 0x58, 0x04, 0x06, 0x03, 0x18, 0x08,
                           0x00, 0xF0, 0x03, 0x7E, 0x7F, 0xF7, 0x00, 0xFF, 0x01, 0x02, 'h', 'i', 0x00, 0xFF, 0x2F, 0x00};
  const Bytes notes = {0x00, 0x90, 60, 100, 0x10, 64, 90,        // running status
                       0x00, 0xB0, 7, 100,                       // controller
                       0x20, 0x90, 60, 0,                        // velocity 0: off
                       0x81, 0x00, 0x80, 64, 0,                  // delta 128 (two-byte VLQ)
                       0x00, 0xE0, 0x00, 0x40, 0x00, 0xFF, 0x2F, 0x00};
  std::string bytes = smf(1, 480, {conductor});
  bytes += "XFIL";
  bytes += std::string("\0\0\0\3abc", 7);
  bytes += smf(1, 480, {notes}).substr(14);  // the notes' track chunk
  bytes[11] = 2;                             // two tracks
  const MidiFile r = parse_midi(bytes, "hand.mid");
  EXPECT_EQ(r.tempo, 600000);
  EXPECT_EQ(r.numerator, 6);
  EXPECT_EQ(r.denominator, 8);
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_EQ(r.notes[0], (MidiNote{0, 48, 60, 100, 0, 1}));
  EXPECT_EQ(r.notes[1], (MidiNote{16, 160, 64, 90, 0, 1}));
}

TEST(Midi, OverlappingKeysEndFirstInFirstOutAndOpenNotesAtTheTrackEnd) {
  // on 60 at 0, on 60 at 10, off at 30 (ends the first), off at 40 (the second), on 62 at 50
  // never released: the track ends at 70
  const Bytes t = {0x00, 0x90, 60, 1, 0x0A, 60, 2, 0x14, 0x80, 60, 0, 0x0A, 60, 0, 0x0A, 0x90, 62, 3, 0x14, 0xFF, 0x2F, 0x00};
  const MidiFile r = parse_midi(smf(0, 24, {t}), "overlap.mid");
  ASSERT_EQ(r.notes.size(), 3u);
  EXPECT_EQ(r.notes[0], (MidiNote{0, 30, 60, 1, 0, 0}));
  EXPECT_EQ(r.notes[1], (MidiNote{10, 30, 60, 2, 0, 0}));
  EXPECT_EQ(r.notes[2], (MidiNote{50, 20, 62, 3, 0, 0}));
}

TEST(Midi, SmpteDivisionIsReadAsTicksPerQuarterAt120Bpm) {
  const Bytes t = {0x00, 0x90, 60, 100, 0x83, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00};  // 480 ticks
  const MidiFile r = parse_midi(smf(0, 0xE728, {t}), "smpte.mid");  // 25 fps x 40 ticks: 1,000 per second
  EXPECT_EQ(r.ticks_per_quarter, 500);
  EXPECT_EQ(r.tempo, 500000);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0].duration, 480);
}

TEST(Midi, BadFilesAreClearErrors) {
  EXPECT_ERROR_WITH(parse_midi("", "e.mid"), "e.mid is empty");
  EXPECT_ERROR_WITH(parse_midi("RIFF....WAVE", "w.mid"), "not a MIDI file");
  const std::string good = midi_bytes(sample_song(1));
  for (size_t n = 1; n < good.size(); ++n) {  // every cut is refused, never read past the end
    try {
      parse_midi(good.substr(0, n), "cut.mid");
      ADD_FAILURE() << "a file cut at " << n << " bytes was read";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_TRUE(m.find("truncated") != std::string::npos || m.find("not a MIDI") != std::string::npos ||
                  m.find("header") != std::string::npos) << n << ": " << m;
    }
  }
  const Bytes end = {0x00, 0xFF, 0x2F, 0x00};
  EXPECT_ERROR_WITH(parse_midi(smf(2, 96, {end}), "f2.mid"), "format 2");
  EXPECT_ERROR_WITH(parse_midi(smf(0, 96, {end, end}), "f0.mid"), "format 0 MIDI file has one track");
  EXPECT_ERROR_WITH(parse_midi(smf(1, 0, {end}), "d0.mid"), "0 ticks per quarter");
  EXPECT_ERROR_WITH(parse_midi(smf(0, 96, {{0x00, 60, 100}}), "rs.mid"), "no status byte");
  EXPECT_ERROR_WITH(parse_midi(smf(0, 96, {{0x00, 0x90, 0x80, 100}}), "db.mid"), "data byte 0x80");
  EXPECT_ERROR_WITH(parse_midi(smf(0, 96, {{0x00, 0xF4}}), "st.mid"), "status byte 0xF4");
  EXPECT_ERROR_WITH(parse_midi(smf(0, 96, {{0x81, 0x81, 0x81, 0x81, 0x01, 0xFF, 0x2F, 0x00}}), "v.mid"), "more than 4 bytes");
  EXPECT_ERROR_WITH(parse_midi(smf(0, 96, {{0x00, 0xFF, 0x01, 0x7F, 'x'}}), "m.mid"), "truncated");
  // a track that runs past 2^40 ticks: 300 deltas of 2^28 - 1 ticks
  Bytes long_track;
  for (int k = 0; k < 4200; ++k) long_track.insert(long_track.end(), {0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x01, 0x00});
  std::string long_file = smf(0, 96, {Bytes{}});
  long_file.resize(14);
  const size_t n = long_track.size();
  long_file += std::string("MTrk") + char(n >> 24) + char(n >> 16) + char(n >> 8) + char(n) + as_string(long_track);
  EXPECT_ERROR_WITH(parse_midi(long_file, "long.mid"), "runs past");
  test::TempDir dir;
  EXPECT_ERROR_WITH(read_midi(dir.file("missing.mid")), "missing.mid");
}

TEST(NoteTokens, PiecesBecomeShiftsPitchesAndDurations) {
  const NoteGrid g;  // 4 steps per quarter
  MidiFile s;
  s.ticks_per_quarter = 480;
  s.notes = {{0, 480, 64, 80, 0, 0},       {0, 480, 60, 80, 0, 0},    // a chord, given high key first
             {0, 120, 35, 80, 9, 0},                                     // percussion: left out
             {130, 100, 60, 80, 1, 0},                                   // 130 ticks: step 1; duration 1
             {125, 9999, 60, 80, 0, 0},                                  // the same key at step 1: the longer
             {480 * 40, 50, 67, 80, 0, 0}};                              // 160 steps on: rest cut to 32
  const Ids ids = g.encode(s);
  const Ids want = {NoteGrid::kStart,
                    g.pitch_token(60), g.duration_token(4), g.pitch_token(64), g.duration_token(4),
                    g.shift_token(1), g.pitch_token(60), g.duration_token(32),
                    g.shift_token(16), g.shift_token(16), g.pitch_token(67), g.duration_token(1)};
  EXPECT_EQ(ids, want);
  EXPECT_EQ(g.size(), 2 + 128 + 32 + 16);
  EXPECT_EQ(g.describe(g.pitch_token(60)), "C4");
  EXPECT_EQ(g.describe(g.pitch_token(61)), "C#4");
  EXPECT_EQ(g.describe(g.duration_token(4)), "d4");
  EXPECT_EQ(g.describe(g.shift_token(2)), "s2");
  EXPECT_EQ(g.value(g.shift_token(16)), 16);
  EXPECT_THROW(g.kind(g.size()), Error);

  const MidiFile d = g.decode(ids);  // back on the grid: 120 ticks a step
  EXPECT_EQ(d.ticks_per_quarter, 480);
  ASSERT_EQ(d.notes.size(), 4u);
  EXPECT_EQ(d.notes[0], (MidiNote{0, 480, 60, 80, 0, 1}));
  EXPECT_EQ(d.notes[1], (MidiNote{0, 480, 64, 80, 0, 1}));
  EXPECT_EQ(d.notes[2], (MidiNote{120, 32 * 120, 60, 80, 0, 1}));
  EXPECT_EQ(d.notes[3], (MidiNote{(1 + 32) * 120, 120, 67, 80, 0, 1}));
  EXPECT_EQ(g.encode(d), ids);  // tokens -> notes -> the same tokens

  const NoteGrid top{.melody_only = true};  // the highest key; cut at the next note
  EXPECT_EQ(top.encode(s), (Ids{NoteGrid::kStart, g.pitch_token(64), g.duration_token(1), g.shift_token(1),
                                g.pitch_token(60), g.duration_token(32), g.shift_token(16), g.shift_token(16),
                                g.pitch_token(67), g.duration_token(1)}));
  EXPECT_EQ(g.encode(MidiFile{}), (Ids{NoteGrid::kStart}));
  EXPECT_ERROR_WITH(NoteGrid{.steps_per_quarter = 0}.encode(s), "steps per quarter");
}

// A melody with a four-bar cycle: C major scale up and down in eighth notes, a chord each bar.
std::vector<MidiFile> scale_songs() {
  std::vector<MidiFile> songs(3);
  const int scale[] = {60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 55};
  for (MidiFile& s : songs) {
    s.ticks_per_quarter = 480;
    for (int64_t k = 0; k < 16 * 12; ++k) {
      s.notes.push_back({k * 240, 240, scale[k % 16], 80, 0, 1});
      if (k % 8 == 0) s.notes.push_back({k * 240, 960, 48, 80, 0, 1});
    }
  }
  return songs;
}

TEST(MusicModel, LearnsAScaleComposesTheSamePieceForASeedAndTravelsInItsFile) {
  const std::vector<MidiFile> songs = scale_songs();
  MusicModel m = train_music_model(songs, {.training = {.lookback = 40, .units = 32, .embedding = 16, .epochs = 100,
                                                        .learning_rate = 0.01f, .verbose = 0}});
  EXPECT_LT(m.heldout.bits_per_token(), 1.5);  // log2(178) = 7.5 for a guess; each window starts cold
  EXPECT_EQ(m.steps_per_bar(), 16);
  std::vector<MidiNote> seen;
  const MidiFile a = m.generate(4, {.temperature = 1.0f, .seed = 3}, 8, [&](const MidiNote& n) { seen.push_back(n); });
  const MidiFile b = m.generate(4, {.temperature = 1.0f, .seed = 3});
  EXPECT_EQ(a.notes, b.notes);
  ASSERT_FALSE(a.notes.empty());
  EXPECT_EQ(seen.size(), a.notes.size());
  for (const MidiNote& n : a.notes) EXPECT_LT(n.start, 4 * 16 * 120);  // inside 4 bars of 16 steps
  // the most likely piece is the scale itself: eighth notes a step of the scale apart
  const MidiFile greedy = m.generate(2, {.temperature = 0.0f});
  int eighths = 0;
  for (const MidiNote& n : greedy.notes) eighths += n.duration == 240 && n.pitch > 50;
  EXPECT_GE(eighths, 12) << "of " << greedy.notes.size() << " notes";

  test::TempDir dir;
  m.save(dir.file("m.safetensors"));
  MusicModel loaded = MusicModel::load(dir.file("m.safetensors"));
  EXPECT_EQ(loaded.grid.size(), m.grid.size());
  EXPECT_EQ(loaded.lookback, 40);
  EXPECT_EQ(loaded.tempo, m.tempo);
  EXPECT_EQ(loaded.generate(4, {.temperature = 1.0f, .seed = 3}).notes, a.notes);
  EXPECT_NEAR(loaded.score(songs[0]).nats_per_token, m.score(songs[0]).nats_per_token, 1e-6);

  Sequential plain;
  plain.add(Dense(1, {.input_shape = {2}}));
  plain.compile(Adam(), loss::mse);
  plain.save(dir.file("plain.safetensors"));
  EXPECT_ERROR_WITH(MusicModel::load(dir.file("plain.safetensors")), "not a music model");
  EXPECT_ERROR_WITH(train_music_model(std::vector<MidiFile>{}), "no pieces");
  EXPECT_ERROR_WITH(train_music_model(std::vector<MidiFile>{MidiFile{}}), "less than one window");
}

}  // namespace
}  // namespace lstm
