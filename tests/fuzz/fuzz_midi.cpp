// MIDI: any bytes as a Standard MIDI File. What is read must write back (every value read is in
// range for the writer) and read again; its note tokens decode to notes that encode to the
// same tokens.
#include "fuzz.h"
#include "lstm/music.h"

LSTM_FUZZ_TARGET({
  lstm::MidiFile song;
  try {
    song = lstm::parse_midi(bytes, "fuzz.mid");
  } catch (const lstm::Error&) {
    return 0;
  }
  std::string written;
  try {
    written = lstm::midi_bytes(song);
  } catch (const lstm::Error&) {
    __builtin_trap();  // the reader let through a value the writer refuses
  }
  const lstm::MidiFile again = lstm::parse_midi(written, "written.mid");
  if (again.tempo != song.tempo || again.ticks_per_quarter != song.ticks_per_quarter) __builtin_trap();
  const lstm::NoteGrid grid{.max_rest = 64};
  const std::vector<int64_t> ids = grid.encode(song);
  if (grid.encode(grid.decode(ids)) != ids) __builtin_trap();
})
