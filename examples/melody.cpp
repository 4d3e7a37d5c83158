// A melody model, from MIDI files to a new piece: read every .mid file of a folder, turn the
// notes into tokens (pitch, duration, time shift on a sixteenth-note grid), train an LSTM on
// them, and compose 8 bars, written as melody.mid, printing each note as it is drawn.
//
//   build/bin/melody [MIDI_FOLDER] [EPOCHS]
//       (default: /usr/share/games/openttd/baseset/openmsx, which `scripts/install-deps.sh
//        music` installs; at most 30 epochs, stopping when the validation part stops improving)
#include <lstm/lstm.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string folder = argc > 1 ? argv[1] : "/usr/share/games/openttd/baseset/openmsx";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 30;
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) {
    std::fprintf(stderr, "%s is not a folder: give a folder of MIDI files, or run scripts/install-deps.sh music\n",
                 folder.c_str());
    return 1;
  }
  try {
    std::vector<std::string> paths;
    for (const auto& entry : std::filesystem::directory_iterator(folder))
      if (entry.path().extension() == ".mid") paths.push_back(entry.path().string());
    std::sort(paths.begin(), paths.end());
    std::vector<lstm::MidiFile> songs;
    for (const std::string& path : paths) songs.push_back(lstm::read_midi(path));  // notes in ticks
    std::printf("%zu pieces from %s\n", songs.size(), folder.c_str());

    // Embedding(V, 64) -> LSTM(256, sequences) -> Dense(V, softmax) per step, windows of 100
    // tokens; the last 10% of the training tokens decide when to stop (patience 3)
    lstm::MusicModel m = lstm::train_music_model(
        songs, {.grid = {.steps_per_quarter = 4}, .training = {.epochs = epochs, .validation = 0.1}});
    std::printf("held-out: %.3f bits per token\n", m.heldout.bits_per_token());
    m.save("melody.safetensors");

    const char* names[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    lstm::MidiFile piece = m.generate(8, {.temperature = 1.0f, .seed = 1}, 8, [&](const lstm::MidiNote& n) {
      std::printf("%s%d ", names[n.pitch % 12], n.pitch / 12 - 1);
      std::fflush(stdout);
    });
    lstm::write_midi("melody.mid", piece);
    std::printf("\nmelody.mid: %zu notes, 8 bars at %.0f bpm\n", piece.notes.size(), piece.bpm());
  } catch (const lstm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
