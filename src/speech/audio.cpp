// Reading audio (libsndfile), raw PCM, and sample-rate conversion (libsoxr). See lstm/audio.h.
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/limits.h"
#include "lstm/audio.h"
#include "lstm/error.h"

namespace lstm {

static void check_rate(int rate, const std::string& what) {
  if (rate < 1000 || rate > 384000)
    throw Error(what + ": sample rate " + std::to_string(rate) + " Hz is outside 1000..384000");
}

namespace {
struct SndFile {
  SNDFILE* f = nullptr;
  ~SndFile() {
    if (f) sf_close(f);
  }
};
}  // namespace

// Blocks of frames from an open file, averaged to mono; `declared` frames expected (-1: unknown).
static Audio read_blocks(SNDFILE* f, const SF_INFO& info, const std::string& path) {
  check_rate(info.samplerate, "'" + path + "'");
  if (info.channels < 1 || info.channels > 64)
    throw Error("'" + path + "' has " + std::to_string(info.channels) + " channels; 1..64 are read");
  Audio a;
  a.sample_rate = info.samplerate;
  constexpr int64_t kBlock = 1 << 15;
  std::vector<float> block(size_t(kBlock * info.channels));
  for (;;) {
    const sf_count_t got = sf_readf_float(f, block.data(), kBlock);
    if (got <= 0) break;
    if (int64_t(a.samples.size()) + got > limits::kAudioSamples)
      throw Error("'" + path + "' holds more than " + std::to_string(limits::kAudioSamples) +
                  " samples (the limit on one recording): cut it into shorter files");
    for (sf_count_t i = 0; i < got; ++i) {
      double s = 0.0;
      for (int c = 0; c < info.channels; ++c) s += block[size_t(i * info.channels + c)];
      const float v = float(s / info.channels);
      if (!std::isfinite(v))
        throw Error("'" + path + "' holds a sample that is NaN or infinite (frame " +
                    std::to_string(a.samples.size()) + "): it is not usable audio");
      a.samples.push_back(v);
    }
  }
  if (sf_error(f) != SF_ERR_NO_ERROR)
    throw Error("'" + path + "' could not be read to its end: " + sf_strerror(f));
  // libsndfile reads what is there; its log notes a data chunk longer than the file
  // ("data : 8000 (should be 3978)"): a cut-off file, which would train on half a word
  std::vector<char> log(1 << 14, '\0');
  sf_command(f, SFC_GET_LOG_INFO, log.data(), int(log.size() - 1));
  bool cut = false;
  for (const char* line = log.data(); line && *line;) {
    const char* end = std::strchr(line, '\n');
    const std::string text(line, end ? size_t(end - line) : std::strlen(line));
    if ((text.rfind("data", 0) == 0 || text.rfind("SSND", 0) == 0) && text.find("should be") != std::string::npos)
      cut = true;
    line = end ? end + 1 : nullptr;
  }
  if (cut)
    throw Error("'" + path + "' is truncated: its header declares more audio than the file holds (" +
                std::to_string(a.samples.size()) + " frames present): re-export or re-copy it");
  return a;
}

Audio read_audio(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("'" + path + "' is not a file that can be read: check the path");
  SF_INFO info{};
  SndFile file;
  file.f = sf_open(path.c_str(), SFM_READ, &info);
  if (!file.f) {
    std::string why = sf_strerror(nullptr);
    throw Error("'" + path + "' is not audio that libsndfile can read (WAV, FLAC, Ogg Vorbis, AIFF, AU, "
                "...) or uses an encoding it does not support: " + why +
                ". Convert it, e.g. sox in.mp3 -r 16000 -c 1 out.wav; headerless PCM: --raw");
  }
  return read_blocks(file.f, info, path);
}

namespace {
// libsndfile's virtual I/O over bytes in memory
struct Memory {
  const unsigned char* data;
  sf_count_t size, at;
};
sf_count_t mem_length(void* m) { return static_cast<Memory*>(m)->size; }
sf_count_t mem_seek(sf_count_t offset, int whence, void* p) {
  Memory* m = static_cast<Memory*>(p);
  const sf_count_t base = whence == SEEK_CUR ? m->at : whence == SEEK_END ? m->size : 0;
  if (offset > m->size || offset < -m->size) return -1;
  const sf_count_t to = base + offset;
  if (to < 0 || to > m->size) return -1;
  return m->at = to;
}
sf_count_t mem_read(void* out, sf_count_t n, void* p) {
  Memory* m = static_cast<Memory*>(p);
  if (n <= 0) return 0;
  const sf_count_t k = std::min(n, m->size - m->at);
  std::memcpy(out, m->data + m->at, size_t(k));
  m->at += k;
  return k;
}
sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t mem_tell(void* m) { return static_cast<Memory*>(m)->at; }
}  // namespace

Audio decode_audio(std::span<const unsigned char> bytes, const std::string& name) {
  Memory m{bytes.data(), sf_count_t(bytes.size()), 0};
  SF_VIRTUAL_IO io{mem_length, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  SndFile file;
  file.f = sf_open_virtual(&io, SFM_READ, &info, &m);
  if (!file.f)
    throw Error("'" + name + "' is not audio that libsndfile can read (WAV, FLAC, Ogg Vorbis, AIFF, AU, "
                "...) or uses an encoding it does not support: " + std::string(sf_strerror(nullptr)));
  return read_blocks(file.f, info, name);
}

int raw_sample_bytes(const std::string& encoding) {
  if (encoding == "s16le") return 2;
  if (encoding == "s24le") return 3;
  if (encoding == "s32le" || encoding == "f32le") return 4;
  if (encoding == "u8" || encoding == "mulaw" || encoding == "alaw") return 1;
  throw Error("unknown raw audio encoding '" + encoding +
              "': use s16le, s24le, s32le, f32le, u8, mulaw or alaw");
}

static float mulaw(unsigned char u) {  // ITU-T G.711
  u = static_cast<unsigned char>(~u);
  const int sign = u & 0x80, exponent = (u >> 4) & 7, mantissa = u & 0x0F;
  const int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return float(sign ? -magnitude : magnitude) / 32768.0f;
}

static float alaw(unsigned char a) {  // ITU-T G.711
  a ^= 0x55;
  const int sign = a & 0x80, exponent = (a >> 4) & 7, mantissa = a & 0x0F;
  int magnitude = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return float(sign ? magnitude : -magnitude) / 32768.0f;
}

size_t decode_raw_audio(std::span<const unsigned char> bytes, const RawFormat& format,
                        std::vector<float>& out) {
  const int width = raw_sample_bytes(format.encoding);
  if (format.channels < 1 || format.channels > 64)
    throw Error("raw audio: " + std::to_string(format.channels) + " channels; 1..64 are read");
  const size_t frame = size_t(width) * size_t(format.channels), frames = bytes.size() / frame;
  const std::string& e = format.encoding;
  for (size_t i = 0; i < frames; ++i) {
    double sum = 0.0;  // in double: two large floats must not add up to infinity
    for (int c = 0; c < format.channels; ++c) {
      const unsigned char* p = bytes.data() + i * frame + size_t(c) * size_t(width);
      float v = 0.0f;
      if (e == "s16le") v = float(int16_t(uint16_t(p[0] | (p[1] << 8)))) / 32768.0f;
      else if (e == "s24le") v = float(int32_t(uint32_t(p[0] << 8 | p[1] << 16 | uint32_t(p[2]) << 24)) >> 8) / 8388608.0f;
      else if (e == "s32le") v = float(double(int32_t(uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24)) / 2147483648.0);
      else if (e == "f32le") {
        uint32_t bits = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
        std::memcpy(&v, &bits, 4);
        if (!std::isfinite(v)) throw Error("raw audio: a float sample is NaN or infinite: not f32le audio?");
      } else if (e == "u8") v = (float(p[0]) - 128.0f) / 128.0f;
      else if (e == "mulaw") v = mulaw(p[0]);
      else v = alaw(p[0]);
      sum += v;
    }
    out.push_back(float(sum / format.channels));
  }
  return frames * frame;
}

Audio read_raw_audio(const std::string& path, const RawFormat& format) {
  check_rate(format.sample_rate, "raw audio '" + path + "'");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("'" + path + "' is not a file that can be read: check the path");
  const uint64_t size = std::filesystem::file_size(path, ec);
  const uint64_t width = uint64_t(raw_sample_bytes(format.encoding));
  if (ec || size / width > uint64_t(limits::kAudioSamples) * uint64_t(std::max(format.channels, 1)))
    throw Error("'" + path + "' holds more than " + std::to_string(limits::kAudioSamples) +
                " samples (the limit on one recording): cut it into shorter files");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error("'" + path + "' could not be opened: " + std::strerror(errno));
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  Audio a;
  a.sample_rate = format.sample_rate;
  const size_t used = decode_raw_audio({bytes.data(), got}, format, a.samples);
  if (used != got)
    throw Error("raw audio '" + path + "' ends in a partial frame (" + std::to_string(got - used) +
                " bytes): is it " + format.encoding + " with " + std::to_string(format.channels) + " channel(s)?");
  return a;
}

// ---- resampling ----------------------------------------------------------------------------

std::vector<float> resample(std::span<const float> x, int from_rate, int to_rate) {
  check_rate(from_rate, "resample");
  check_rate(to_rate, "resample");
  if (from_rate == to_rate) return {x.begin(), x.end()};
  Resampler r(from_rate, to_rate);
  std::vector<float> out;
  out.reserve(size_t(double(x.size()) * to_rate / from_rate) + 64);
  r.push(x, out);
  r.finish(out);
  return out;
}

Resampler::Resampler(int from_rate, int to_rate) : from_(from_rate), to_(to_rate) {
  check_rate(from_rate, "Resampler");
  check_rate(to_rate, "Resampler");
  if (from_ == to_) return;
  soxr_error_t err = nullptr;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_runtime_spec_t rt = soxr_runtime_spec(1);  // one thread: the model has the others
  soxr_ = soxr_create(from_rate, to_rate, 1, &err, &io, &q, &rt);
  if (!soxr_ || err) throw Error(std::string("resampler: libsoxr refused ") + std::to_string(from_rate) + " -> " +
                                 std::to_string(to_rate) + " Hz: " + (err ? err : "unknown error"));
}

Resampler::~Resampler() {
  if (soxr_) soxr_delete(static_cast<soxr_t>(soxr_));
}

void Resampler::push(std::span<const float> in, std::vector<float>& out) {
  if (!soxr_) {
    out.insert(out.end(), in.begin(), in.end());
    return;
  }
  const double ratio = double(to_) / double(from_);
  size_t offset = 0;
  do {  // in slices, so that the output room stays small whatever the input
    const size_t n = std::min<size_t>(in.size() - offset, 1 << 14);
    const size_t room = size_t(double(n) * ratio) + 256;
    const size_t at = out.size();
    out.resize(at + room);
    size_t used = 0, done = 0;
    soxr_error_t err = soxr_process(static_cast<soxr_t>(soxr_), in.data() + offset, n, &used,
                                    out.data() + at, room, &done);
    if (err) throw Error(std::string("resampler: ") + err);
    out.resize(at + done);
    offset += used;
    if (used == 0 && n > 0 && done == 0) break;  // cannot happen with this much room; no spin
  } while (offset < in.size());
}

void Resampler::finish(std::vector<float>& out) {
  if (!soxr_) return;
  for (;;) {  // input null: drain what the filter holds
    const size_t at = out.size();
    out.resize(at + 4096);
    size_t done = 0;
    soxr_error_t err = soxr_process(static_cast<soxr_t>(soxr_), nullptr, 0, nullptr, out.data() + at, 4096, &done);
    if (err) throw Error(std::string("resampler: ") + err);
    out.resize(at + done);
    if (done == 0) break;
  }
}

}  // namespace lstm
