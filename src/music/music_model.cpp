// The melody model (include/lstm/music.h): train_next_token_model (text.h) on note tokens, and a
// generator that keeps its draws to tokens that make a piece.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/json.h"
#include "lstm/error.h"
#include "lstm/music.h"

namespace lstm {

namespace {

constexpr const char* kMusicKey = "lstm.music";


}  // namespace

int64_t MusicModel::steps_per_bar() const {
  return std::max<int64_t>(1, int64_t(grid.steps_per_quarter) * 4 * numerator / std::max(denominator, 1));
}

MusicModel train_music_model(std::span<const MidiFile> songs, const MusicOptions& o) {
  o.grid.check();
  const LanguageModelOptions& t = o.training;
  if (!(t.holdout > 0.0 && t.holdout <= 0.5)) throw Error("holdout must be in (0, 0.5], got " + std::to_string(t.holdout));
  if (songs.empty()) throw Error("no pieces to train on: give at least one MIDI file");
  std::vector<int64_t> ids, tempos;
  std::map<std::pair<int, int>, int64_t> meters;  // time signature -> pieces
  for (const MidiFile& s : songs) {
    const std::vector<int64_t> piece = o.grid.encode(s);
    ids.insert(ids.end(), piece.begin(), piece.end());
    tempos.push_back(s.tempo);
    ++meters[{s.numerator, s.denominator}];
  }
  const int64_t n = int64_t(ids.size()), n_train = n - int64_t(std::ceil(double(n) * t.holdout));
  if (n_train < t.lookback + 1 || n - n_train < 2)
    throw Error("the pieces make " + std::to_string(n) + " note tokens: " + std::to_string(n_train) +
                " for training is less than one window of lookback " + std::to_string(t.lookback) +
                " + 1 (or the held-out part has fewer than 2): give more music or a smaller --lookback");
  NextTokenModel m = train_next_token_model(std::span<const int64_t>(ids).first(size_t(n_train)),
                                            std::span<const int64_t>(ids).subspan(size_t(n_train)), o.grid.size(),
                                            t, "melody_model");
  std::nth_element(tempos.begin(), tempos.begin() + tempos.size() / 2, tempos.end());
  auto meter = std::max_element(meters.begin(), meters.end(), [](auto& a, auto& b) { return a.second < b.second; });
  return MusicModel{std::move(m.model), o.grid, t.lookback, tempos[tempos.size() / 2], meter->first.first,
                    meter->first.second, std::move(m.history), m.heldout};
}

MidiFile MusicModel::generate(int64_t bars, SamplingOptions sampling, int max_chord,
                              const std::function<void(const MidiNote&)>& on_note) {
  if (bars < 1 || bars > 100000) throw Error("bars must be 1..100000, got " + std::to_string(bars));
  if (max_chord < 1 || max_chord > 128) throw Error("max_chord must be 1..128, got " + std::to_string(max_chord));
  grid.check();
  const int64_t V = grid.size(), end = bars * steps_per_bar();
  Sampler sampler(V, sampling);
  std::vector<float> probs(static_cast<size_t>(V)), allowed(static_cast<size_t>(V));
  std::vector<bool> struck(128, false);  // keys begun at this step
  std::vector<int64_t> ids = {NoteGrid::kStart};
  model.reset_states();
  float x = float(NoteGrid::kStart);
  model.step(&x, probs.data());
  int64_t time = 0;
  int chord = 0, pending = -1;
  const int64_t first_duration = grid.duration_token(1), first_shift = grid.shift_token(1);
  while (time < end) {
    // what may come next: after a pitch its duration; otherwise a new key or a shift
    for (int64_t id = 0; id < V; ++id) {
      bool ok;
      if (pending >= 0) ok = id >= first_duration && id < first_shift;
      else if (id >= first_shift) ok = true;
      else if (id >= NoteGrid::kFirstPitch && id < first_duration) ok = chord < max_chord && !struck[size_t(id - NoteGrid::kFirstPitch)];
      else ok = false;
      allowed[size_t(id)] = ok ? probs[size_t(id)] : 0.0f;
    }
    int64_t id = sampler.next(allowed);
    if (allowed[size_t(id)] <= 0.0f)  // every allowed odd underflowed: the likeliest allowed token
      for (int64_t k = 0, best = -1; k < V; ++k)
        if ((pending >= 0 ? (k >= first_duration && k < first_shift) : k >= first_shift) && (best < 0 || probs[size_t(k)] > probs[size_t(best)]))
          best = k, id = k;
    ids.push_back(id);
    const NoteGrid::Kind kind = grid.kind(id);
    if (kind == NoteGrid::Kind::pitch) {
      pending = grid.value(id);
    } else if (kind == NoteGrid::Kind::duration) {
      struck[size_t(pending)] = true, ++chord;
      if (on_note) on_note({time * 120, int64_t(grid.value(id)) * 120, pending, 80, 0, 1});
      pending = -1;
    } else {
      time += grid.value(id);
      std::fill(struck.begin(), struck.end(), false), chord = 0;
    }
    x = float(id);
    model.step(&x, probs.data());
  }
  return grid.decode(ids, tempo, numerator, denominator);
}

TextScore MusicModel::score(const MidiFile& song) {
  return score_next_tokens(model, grid.encode(song), lookback);
}

void MusicModel::save(const std::string& path) {
  model.metadata()[kMusicKey] =
      nlohmann::json{{"steps_per_quarter", grid.steps_per_quarter}, {"max_duration", grid.max_duration},
                     {"max_shift", grid.max_shift}, {"max_rest", grid.max_rest}, {"melody_only", grid.melody_only},
                     {"tempo", tempo}, {"numerator", numerator}, {"denominator", denominator},
                     {"lookback", lookback}}
          .dump();
  model.save(path);
}

MusicModel MusicModel::load(const std::string& path) {
  Sequential m = Sequential::load(path);
  const auto it = m.metadata().find(kMusicKey);
  if (it == m.metadata().end())
    throw Error(path + " is not a music model (no \"lstm.music\" metadata): train one with lstm music train");
  const nlohmann::json j = parse_json(it->second, path + ": its \"lstm.music\" metadata");
  if (!j.is_object()) throw Error(path + ": its \"lstm.music\" metadata is not a JSON object");
  auto field = [&](const char* key, int64_t lo, int64_t hi) {
    if (!j.contains(key)) throw Error(path + ": its \"lstm.music\" metadata has no \"" + key + "\"");
    return json_integer(j[key], lo, hi, path + ": its music " + key);
  };
  MusicModel music{std::move(m), {}, 100, 500000, 4, 4, {}, {}};
  music.grid.steps_per_quarter = int(field("steps_per_quarter", 1, 96));
  music.grid.max_duration = int(field("max_duration", 1, 1024));
  music.grid.max_shift = int(field("max_shift", 1, 1024));
  music.grid.max_rest = int(field("max_rest", 1, 1 << 20));
  if (!j.contains("melody_only") || !j["melody_only"].is_boolean())
    throw Error(path + ": its \"lstm.music\" metadata has no true/false \"melody_only\"");
  music.grid.melody_only = j["melody_only"].get<bool>();
  music.tempo = field("tempo", 1, 0xFFFFFF);
  music.numerator = int(field("numerator", 1, 255));
  music.denominator = int(field("denominator", 1, 64));
  if (music.denominator & (music.denominator - 1)) throw Error(path + ": its music time signature's denominator is not a power of 2");
  music.lookback = field("lookback", 1, int64_t(1) << 31);
  const int64_t V = music.grid.size();
  const std::vector<int64_t> out = music.model.output_shape();
  if (out.empty() || out.back() != V)
    throw Error(path + ": the model gives " + (out.empty() ? std::string("no") : std::to_string(out.back())) +
                " outputs per step, but its note grid has " + std::to_string(V) + " tokens: the file is damaged");
  music.model.compile(Adam(), loss::sparse_categorical_crossentropy);
  return music;
}

}  // namespace lstm
