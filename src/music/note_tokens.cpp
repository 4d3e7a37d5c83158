// Notes as tokens (include/lstm/music.h, NoteGrid): the quantisation, the token order and back.
#include <algorithm>
#include <map>

#include "lstm/error.h"
#include "lstm/music.h"

namespace lstm {

namespace {

// ticks -> steps, rounded to the nearest (halves up); ticks <= kMidiMaxTicks and spq <= 96,
// so ticks * spq * 2 stays far inside 64 bits.
int64_t to_steps(int64_t ticks, int spq, int tpq) {
  return (ticks * spq * 2 + tpq) / (2 * int64_t(tpq));
}

const char* kNames[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};

}  // namespace

void NoteGrid::check() const {
  auto bad = [](const std::string& m) { throw Error("the note grid: " + m); };
  if (steps_per_quarter < 1 || steps_per_quarter > 96)
    bad("steps per quarter note must be 1..96, got " + std::to_string(steps_per_quarter));
  if (max_duration < 1 || max_duration > 1024) bad("the longest duration must be 1..1024 steps, got " + std::to_string(max_duration));
  if (max_shift < 1 || max_shift > 1024) bad("the longest shift must be 1..1024 steps, got " + std::to_string(max_shift));
  if (max_rest < 1 || max_rest > 1 << 20) bad("the longest rest must be 1..2^20 steps, got " + std::to_string(max_rest));
}

NoteGrid::Kind NoteGrid::kind(int64_t id) const {
  if (id < 0 || id >= size())
    throw Error("note token " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(size()));
  if (id == kPad) return Kind::padding;
  if (id == kStart) return Kind::start;
  if (id < kFirstPitch + 128) return Kind::pitch;
  if (id < kFirstPitch + 128 + max_duration) return Kind::duration;
  return Kind::shift;
}

int NoteGrid::value(int64_t id) const {
  switch (kind(id)) {
    case Kind::pitch: return int(id - kFirstPitch);
    case Kind::duration: return int(id - (kFirstPitch + 128)) + 1;
    case Kind::shift: return int(id - (kFirstPitch + 128 + max_duration)) + 1;
    default: return 0;
  }
}

std::string NoteGrid::describe(int64_t id) const {
  switch (kind(id)) {
    case Kind::padding: return "pad";
    case Kind::start: return "start";
    case Kind::pitch: {
      const int p = value(id);
      return std::string(kNames[p % 12]) + std::to_string(p / 12 - 1);  // 60 = C4
    }
    case Kind::duration: return "d" + std::to_string(value(id));
    case Kind::shift: return "s" + std::to_string(value(id));
  }
  return "?";
}

std::vector<int64_t> NoteGrid::encode(const MidiFile& song) const {
  check();
  if (song.ticks_per_quarter < 1) throw Error("the piece has " + std::to_string(song.ticks_per_quarter) + " ticks per quarter note");
  // (step, pitch) -> duration in steps: the longer of a key struck twice at one step
  std::map<std::pair<int64_t, int>, int64_t> grid;
  for (const MidiNote& n : song.notes) {
    if (n.channel == kPercussionChannel || n.pitch < 0 || n.pitch > 127) continue;
    const int64_t at = to_steps(std::clamp<int64_t>(n.start, 0, kMidiMaxTicks), steps_per_quarter, song.ticks_per_quarter);
    const int64_t length = std::clamp<int64_t>(
        to_steps(std::clamp<int64_t>(n.duration, 0, kMidiMaxTicks), steps_per_quarter, song.ticks_per_quarter), 1, max_duration);
    int64_t& d = grid[{at, n.pitch}];
    d = std::max(d, length);
  }
  struct Step { int64_t at; int pitch; int64_t duration; };
  std::vector<Step> notes;
  for (const auto& [key, d] : grid) {
    if (melody_only && !notes.empty() && notes.back().at == key.first) notes.back() = {key.first, key.second, d};  // higher key
    else notes.push_back({key.first, key.second, d});
  }
  if (melody_only)  // one voice: each note ends by the next one's start
    for (size_t k = 0; k + 1 < notes.size(); ++k)
      notes[k].duration = std::max<int64_t>(1, std::min(notes[k].duration, notes[k + 1].at - notes[k].at));
  std::vector<int64_t> ids = {kStart};
  int64_t time = 0;
  for (const Step& n : notes) {
    for (int64_t gap = std::min<int64_t>(n.at - time, max_rest); gap > 0;) {
      const int64_t s = std::min<int64_t>(gap, max_shift);
      ids.push_back(shift_token(int(s)));
      gap -= s;
    }
    time = n.at;
    ids.push_back(pitch_token(n.pitch));
    ids.push_back(duration_token(int(n.duration)));
  }
  return ids;
}

MidiFile NoteGrid::decode(std::span<const int64_t> ids, int64_t tempo, int numerator, int denominator) const {
  check();
  MidiFile song;
  song.format = 1;
  song.ticks_per_quarter = 120 * steps_per_quarter;
  song.tempo = tempo, song.numerator = numerator, song.denominator = denominator;
  song.programs[0] = 0;  // acoustic grand piano
  const int64_t tick = 120;  // per step
  int64_t time = 0;
  int pending = -1;
  for (int64_t id : ids) {
    const Kind k = kind(id);
    if (k == Kind::pitch) pending = value(id);
    else if (k == Kind::duration && pending >= 0) {
      song.notes.push_back({time * tick, value(id) * tick, pending, 80, 0, 1});
      pending = -1;
    } else if (k == Kind::shift) {
      time = std::min(time + value(id), kMidiMaxTicks / tick - int64_t(max_duration)), pending = -1;
    } else {
      pending = -1;
    }
  }
  std::stable_sort(song.notes.begin(), song.notes.end(), [](const MidiNote& a, const MidiNote& b) {
    return a.start != b.start ? a.start < b.start : a.pitch < b.pitch;
  });
  return song;
}

}  // namespace lstm
