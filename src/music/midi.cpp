// Standard MIDI Files, read and written (include/lstm/music.h): a bounded reader of our own.
//
// The format, byte by byte (all integers big-endian):
//   "MThd" u32 length (>= 6) | u16 format | u16 tracks | u16 division | (length - 6 bytes skipped)
//   then chunks: 4-byte type, u32 length, data; "MTrk" chunks hold the tracks, others are skipped
//   a track: events, each a delta time (a variable-length quantity, VLQ: 7 bits a byte, high bit
//   set on all but the last, at most 4 bytes) and then
//     0x8n-0xEn channel message, n the channel: 2 data bytes (0xCn, 0xDn: 1); a data byte (< 0x80)
//               in place of the status byte repeats the last channel status (running status)
//     0xF0 / 0xF7  SysEx: VLQ length, data
//     0xFF type    meta event: VLQ length, data (0x2F end of track, 0x51 tempo: u24 us per
//                  quarter, 0x58 time signature: numerator, log2 denominator, 2 more bytes)
//   division: ticks per quarter note (bit 15 clear), or SMPTE (bit 15 set): -frames per second
//   in the high byte (24, 25, 29 or 30) and ticks per frame in the low byte.
//
// Why our own reader rather than Debian's libsmf or portsmf: a loader here must check every
// length against the bytes present, report the offset of what is wrong to the caller (not to a
// log), never allocate by a count from the file, and run under the fuzzer with the rest of the
// loaders; the format is small enough (this file) that the dependency would cost more than it
// saves. tests/fuzz/fuzz_midi.cpp fuzzes it.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>

#include "io/file.h"
#include "lstm/error.h"
#include "lstm/music.h"

namespace lstm {

namespace {

std::string offset_text(size_t at) { return "offset " + std::to_string(at); }

// A cursor over the file's bytes that never reads past its end.
struct Reader {
  std::string_view bytes;
  size_t at = 0;
  const std::string& what;

  [[noreturn]] void truncated(const char* reading) const {
    throw Error(what + " is truncated: it ends at " + offset_text(bytes.size()) + " while reading " + reading +
                ": the file is cut short or not a MIDI file; export it again");
  }
  size_t left() const { return bytes.size() - at; }
  uint8_t u8(const char* reading) {
    if (at >= bytes.size()) truncated(reading);
    return uint8_t(bytes[at++]);
  }
  uint32_t be(int n, const char* reading) {
    if (left() < size_t(n)) truncated(reading);
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) v = (v << 8) | uint8_t(bytes[at++]);
    return v;
  }
  uint32_t vlq(const char* reading) {
    const size_t from = at;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const uint8_t b = u8(reading);
      v = (v << 7) | (b & 0x7Fu);
      if (!(b & 0x80u)) return v;
    }
    throw Error(what + ": a variable-length number at " + offset_text(from) +
                " has more than 4 bytes (a MIDI file allows 4): the file is damaged");
  }
  void skip(uint64_t n, const char* reading) {
    if (n > left()) truncated(reading);
    at += size_t(n);
  }
};

struct Open {
  int64_t start;
  int velocity;
};

// The notes of one track chunk, data in [r.at, end).
void read_track(Reader& r, size_t end, int track, MidiFile& song, bool& have_tempo, bool& have_meter,
                int64_t& tempo_tick, int64_t& meter_tick) {
  Reader t{r.bytes.substr(0, end), r.at, r.what};
  std::map<int, std::deque<Open>> open;  // (channel << 7 | key) -> notes sounding, oldest first
  int64_t tick = 0;
  int status = 0;  // the running status: the last channel message's status byte
  auto close = [&](int channel, int key, int64_t at_tick) {
    auto it = open.find(channel << 7 | key);
    if (it == open.end() || it->second.empty()) return;  // an off without an on: nothing to end
    const Open o = it->second.front();
    it->second.pop_front();
    song.notes.push_back({o.start, at_tick - o.start, key, o.velocity, channel, track});
  };
  while (t.at < end) {
    const size_t event_at = t.at;
    tick += t.vlq("an event's delta time");
    if (tick > kMidiMaxTicks)
      throw Error(t.what + ": track " + std::to_string(track) + " runs past " + std::to_string(kMidiMaxTicks) +
                  " ticks at " + offset_text(event_at) + " (the limit): the file is damaged");
    int byte = t.u8("an event");
    if (byte < 0x80) {  // running status: this is the first data byte
      if (status == 0)
        throw Error(t.what + ": the event at " + offset_text(event_at) +
                    " has no status byte and no earlier channel message to repeat: the file is damaged");
      --t.at;
      byte = status;
    }
    if (byte < 0xF0) {
      status = byte;
      const int kind = byte & 0xF0, channel = byte & 0x0F;
      const int size = (kind == 0xC0 || kind == 0xD0) ? 1 : 2;
      int data[2] = {0, 0};
      for (int k = 0; k < size; ++k) {
        data[k] = t.u8("a channel message");
        if (data[k] >= 0x80)
          throw Error(t.what + ": the channel message at " + offset_text(event_at) + " has a data byte 0x" +
                      [&] { char b[8]; std::snprintf(b, sizeof b, "%02X", data[k]); return std::string(b); }() +
                      " (data bytes are below 0x80): the file is damaged");
      }
      if (kind == 0x90 && data[1] > 0) open[channel << 7 | data[0]].push_back({tick, data[1]});
      else if (kind == 0x80 || kind == 0x90) close(channel, data[0], tick);
      else if (kind == 0xC0 && song.programs[size_t(channel)] < 0) song.programs[size_t(channel)] = data[0];
    } else if (byte == 0xF0 || byte == 0xF7) {
      t.skip(t.vlq("a SysEx length"), "a SysEx message");
    } else if (byte == 0xFF) {
      const int type = t.u8("a meta event's type");
      const uint32_t length = t.vlq("a meta event's length");
      const size_t data_at = t.at;
      t.skip(length, "a meta event");
      const auto* d = reinterpret_cast<const uint8_t*>(t.bytes.data() + data_at);
      if (type == 0x2F) break;  // end of track
      if (type == 0x51 && length >= 3 && (!have_tempo || tick < tempo_tick)) {
        const int64_t us = int64_t(d[0]) << 16 | int64_t(d[1]) << 8 | d[2];
        if (us > 0) song.tempo = us, have_tempo = true, tempo_tick = tick;
      } else if (type == 0x58 && length >= 2 && (!have_meter || tick < meter_tick) && d[0] > 0 && d[1] <= 6) {
        song.numerator = d[0], song.denominator = 1 << d[1], have_meter = true, meter_tick = tick;
      }
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "%02X", byte);
      throw Error(t.what + ": status byte 0x" + b + " at " + offset_text(event_at) +
                  " is not allowed in a MIDI file (only channel messages, SysEx and meta events): the file is damaged");
    }
  }
  for (auto& [key, notes] : open)  // still sounding at the track's end
    for (const Open& o : notes) song.notes.push_back({o.start, tick - o.start, key & 0x7F, o.velocity, key >> 7, track});
  r.at = end;
}

void put_be(std::string& out, uint32_t v, int n) {
  for (int k = n - 1; k >= 0; --k) out.push_back(char((v >> (8 * k)) & 0xFF));
}

void put_vlq(std::string& out, uint64_t v) {
  char b[10];
  int n = 0;
  b[n++] = char(v & 0x7F);
  while (v >>= 7) b[n++] = char(0x80 | (v & 0x7F));
  while (n) out.push_back(b[--n]);
}

void put_chunk(std::string& out, const char* type, const std::string& data) {
  out.append(type, 4);
  put_be(out, uint32_t(data.size()), 4);
  out += data;
}

// One track's events, sorted and written with delta times; ends with End of Track.
struct Event {
  int64_t tick;
  int order;  // at one tick: 0 meta, 1 program, 2 offs of earlier notes, 3 ons, 4 offs of zero-length notes
  int pitch;
  std::string bytes;
};

std::string track_bytes(std::vector<Event> events) {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.tick != b.tick ? a.tick < b.tick : a.order != b.order ? a.order < b.order : a.pitch < b.pitch;
  });
  std::string out;
  int64_t tick = 0;
  for (const Event& e : events) {
    put_vlq(out, uint64_t(e.tick - tick));
    tick = e.tick;
    out += e.bytes;
  }
  put_vlq(out, 0);
  out += "\xFF\x2F";
  out.push_back('\0');
  return out;
}

void check_song(const MidiFile& s) {
  auto bad = [](const std::string& m) { throw Error("cannot write the MIDI file: " + m); };
  if (s.format != 0 && s.format != 1) bad("format must be 0 or 1, got " + std::to_string(s.format));
  if (s.ticks_per_quarter < 1 || s.ticks_per_quarter > 0x7FFF)
    bad("ticks per quarter note must be 1..32767, got " + std::to_string(s.ticks_per_quarter));
  if (s.tempo < 1 || s.tempo > 0xFFFFFF) bad("the tempo must be 1..16777215 us per quarter, got " + std::to_string(s.tempo));
  if (s.numerator < 1 || s.numerator > 255 || s.denominator < 1 || s.denominator > 64 ||
      (s.denominator & (s.denominator - 1)))
    bad("the time signature must be 1..255 over a power of 2 up to 64, got " + std::to_string(s.numerator) + "/" +
        std::to_string(s.denominator));
  for (int p : s.programs)
    if (p < -1 || p > 127) bad("a program must be -1 (none) or 0..127, got " + std::to_string(p));
  for (const MidiNote& n : s.notes)
    if (n.pitch < 0 || n.pitch > 127 || n.velocity < 1 || n.velocity > 127 || n.channel < 0 || n.channel > 15 ||
        n.start < 0 || n.duration < 0 || n.start > kMidiMaxTicks || n.duration > kMidiMaxTicks - n.start ||
        n.track < 0 || n.track > 0xFFFE)
      bad("a note is out of range (pitch " + std::to_string(n.pitch) + ", velocity " + std::to_string(n.velocity) +
          ", channel " + std::to_string(n.channel) + ", start " + std::to_string(n.start) + ", duration " +
          std::to_string(n.duration) + ", track " + std::to_string(n.track) +
          "): pitch and velocity 0..127 (velocity at least 1), channel 0..15, times >= 0");
}

}  // namespace

MidiFile parse_midi(std::string_view bytes, const std::string& what) {
  if (bytes.empty()) throw Error(what + " is empty: give a Standard MIDI File (.mid)");
  Reader r{bytes, 0, what};
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "MThd", 4) != 0)
    throw Error(what + " is not a MIDI file: it does not start with \"MThd\" (a Standard MIDI File does)");
  r.at = 4;
  const uint32_t header = r.be(4, "the header");
  if (header < 6)
    throw Error(what + ": its header chunk has " + std::to_string(header) + " bytes, fewer than the 6 of a MIDI header");
  MidiFile song;
  const uint32_t format = r.be(2, "the header"), tracks = r.be(2, "the header"), division = r.be(2, "the header");
  r.skip(header - 6, "the header");
  if (format == 2)
    throw Error(what + " is a format 2 MIDI file (independent patterns), which is not read here: save it as format 0 or 1");
  if (format > 2) throw Error(what + ": MIDI format " + std::to_string(format) + " is unknown (0, 1 or 2 exist)");
  if (tracks == 0) throw Error(what + ": its header says it has no tracks, so it has no notes");
  if (format == 0 && tracks != 1)
    throw Error(what + ": a format 0 MIDI file has one track, but its header says " + std::to_string(tracks));
  song.format = int(format);
  if (division & 0x8000) {  // SMPTE: -fps in the high byte, ticks per frame in the low
    const int fps = 256 - int(division >> 8), per_frame = int(division & 0xFF);
    if ((fps != 24 && fps != 25 && fps != 29 && fps != 30) || per_frame == 0)
      throw Error(what + ": its SMPTE time division (" + std::to_string(fps) + " frames per second, " +
                  std::to_string(per_frame) + " ticks per frame) is not valid");
    song.ticks_per_quarter = std::max(1, fps * per_frame / 2);  // ticks per second / 2 at 120 bpm
  } else {
    if (division == 0) throw Error(what + ": its header gives 0 ticks per quarter note (at least 1)");
    song.ticks_per_quarter = int(division);
  }
  bool have_tempo = false, have_meter = false;
  int64_t tempo_tick = 0, meter_tick = 0;
  uint32_t read = 0;
  while (read < tracks) {
    if (r.left() == 0)
      throw Error(what + " is truncated: its header says " + std::to_string(tracks) + " tracks, but it ends after " +
                  std::to_string(read) + ": the file is cut short; export it again");
    const size_t chunk_at = r.at;
    r.skip(4, "a chunk's type");
    const uint32_t length = r.be(4, "a chunk's length");
    if (length > r.left())
      throw Error(what + " is truncated: the chunk at " + offset_text(chunk_at) + " says " + std::to_string(length) +
                  " bytes, but " + std::to_string(r.left()) + " are left: the file is cut short; export it again");
    if (std::memcmp(bytes.data() + chunk_at, "MTrk", 4) != 0) {  // another kind of chunk: skipped
      r.skip(length, "a chunk");
      continue;
    }
    read_track(r, r.at + length, song.format == 0 ? 0 : int(read), song, have_tempo, have_meter, tempo_tick, meter_tick);
    ++read;
  }
  if (division & 0x8000) song.tempo = 500000;  // the division already counts real time
  std::stable_sort(song.notes.begin(), song.notes.end(), [](const MidiNote& a, const MidiNote& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.pitch != b.pitch) return a.pitch < b.pitch;
    if (a.channel != b.channel) return a.channel < b.channel;
    return a.track < b.track;
  });
  return song;
}

MidiFile read_midi(const std::string& path) { return parse_midi(read_file(path, "MIDI file"), path); }

std::string midi_bytes(const MidiFile& s) {
  check_song(s);
  std::vector<Event> conductor;
  {
    std::string tempo = "\xFF\x51\x03";
    put_be(tempo, uint32_t(s.tempo), 3);
    int log2 = 0;
    while ((1 << log2) < s.denominator) ++log2;
    std::string meter = "\xFF\x58\x04";
    meter += char(s.numerator), meter += char(log2), meter += char(24), meter += char(8);
    conductor.push_back({0, 0, 0, tempo});
    conductor.push_back({0, 0, 0, meter});
  }
  std::map<int, std::vector<Event>> tracks;  // by MidiNote::track (format 1) or all in 0
  std::vector<bool> used_channel(16, false);
  for (const MidiNote& n : s.notes) {
    std::vector<Event>& t = tracks[s.format == 0 ? 0 : n.track];
    const std::string on = {char(0x90 | n.channel), char(n.pitch), char(n.velocity)};
    const std::string off = {char(0x80 | n.channel), char(n.pitch), char(64)};
    t.push_back({n.start, 3, n.pitch, on});
    t.push_back({n.start + n.duration, n.duration == 0 ? 4 : 2, n.pitch, off});
    used_channel[size_t(n.channel)] = true;
  }
  if (tracks.empty()) tracks[s.format == 0 ? 0 : 1];  // a file with no notes still has a note track
  // each channel's program, at tick 0 of the first track that plays it (or the first track)
  for (int c = 0; c < 16; ++c) {
    if (s.programs[size_t(c)] < 0) continue;
    std::vector<Event>* into = &tracks.begin()->second;
    for (auto& entry : tracks) {  // (not a structured binding: clang 14 cannot capture one)
      const int index = entry.first;
      if (std::any_of(s.notes.begin(), s.notes.end(), [&](const MidiNote& n) { return n.channel == c && (s.format == 0 || n.track == index); })) {
        into = &entry.second;
        break;
      }
    }
    into->push_back({0, 1, c, std::string{char(0xC0 | c), char(s.programs[size_t(c)])}});
  }
  std::string out = "MThd";
  put_be(out, 6, 4);
  put_be(out, uint32_t(s.format), 2);
  if (s.format == 0) {
    put_be(out, 1, 2);
    put_be(out, uint32_t(s.ticks_per_quarter), 2);
    std::vector<Event> all = std::move(conductor);
    for (Event& e : tracks[0]) all.push_back(std::move(e));
    put_chunk(out, "MTrk", track_bytes(std::move(all)));
    return out;
  }
  // format 1: track 0 is the conductor; the note tracks follow in increasing order, each at its
  // own index (an empty track fills any gap, so that a note of track k reads back in track k)
  const int last = tracks.rbegin()->first;
  put_be(out, uint32_t(std::max(last, 0) + 1), 2);
  put_be(out, uint32_t(s.ticks_per_quarter), 2);
  auto zero = tracks.find(0);
  if (zero != tracks.end())
    for (Event& e : zero->second) conductor.push_back(std::move(e));
  put_chunk(out, "MTrk", track_bytes(std::move(conductor)));
  for (int k = 1; k <= last; ++k) {
    auto it = tracks.find(k);
    put_chunk(out, "MTrk", track_bytes(it == tracks.end() ? std::vector<Event>{} : std::move(it->second)));
  }
  return out;
}

void write_midi(const std::string& path, const MidiFile& song) {
  write_file_atomic(path, midi_bytes(song), "MIDI file");
}

}  // namespace lstm
