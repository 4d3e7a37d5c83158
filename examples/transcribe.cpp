// Speech recognition, spoken digits: trains a bidirectional LSTM with CTC on the synthetic
// voices scripts/speech_data.py makes (espeak-ng, flite, sox), prints its word error rate on a
// real human voice it never heard (the recorded digits of Debian's asterisk-core-sounds-en-wav,
// CC-BY-SA, installed at run time, never committed), greedy and constrained to the digit words,
// then streams one recording through a unidirectional model, printing text as it is decided.
//
//   scripts/install-deps.sh speech && /usr/bin/python3 scripts/speech_data.py build/speech
//   build/bin/transcribe [DIR] [EPOCHS]          (default: build/speech, 30)
#include <lstm/lstm.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "build/speech";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 30;
  try {
    const auto train = lstm::read_transcripts(dir + "/train.tsv", dir);
    const auto valid = lstm::read_transcripts(dir + "/valid.tsv", dir);
    const auto real = lstm::read_transcripts(dir + "/real-strings.tsv", dir);
    lstm::SpeechOptions o;
    o.features.sample_rate = 8000;  // the telephone rate of the real recordings
    o.epochs = epochs;
    lstm::SpeechRecognizer r = lstm::train_speech(train, valid, o);
    const lstm::SequenceScores greedy = r.evaluate(real);
    const lstm::SequenceScores digits = r.evaluate(real, {.beam = 16, .lexicon = {"training"}});
    std::printf("real voice, %lld digit strings: word error rate %.4f greedy, %.4f with the digit lexicon\n",
                (long long)greedy.sequences, greedy.word_error_rate, digits.word_error_rate);
    r.save("digits.safetensors");

    // Streaming: a left-to-right model, fed 20 ms blocks as a microphone would.
    o.architecture.bidirectional = false;
    o.verbose = 0;
    lstm::SpeechRecognizer s = lstm::train_speech(train, valid, o);
    const lstm::Audio audio = lstm::read_audio(real[0].path);
    lstm::SpeechStream stream(s, audio.sample_rate);
    std::printf("streaming %s (\"%s\"), model latency %.0f ms: ", real[0].path.c_str(), real[0].text.c_str(),
                stream.latency_seconds() * 1000);
    const size_t block = size_t(audio.sample_rate / 50);
    for (size_t at = 0; at < audio.samples.size(); at += block) {
      const size_t n = std::min(block, audio.samples.size() - at);
      std::fputs(stream.push({audio.samples.data() + at, n}).c_str(), stdout);
      std::fflush(stdout);
    }
    std::printf("%s\n", stream.finish().c_str());
  } catch (const lstm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
