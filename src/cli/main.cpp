// build/bin/lstm: train, predict and inspect LSTM models from the shell.
// Exit codes: 0 success, 1 error (bad data, bad file, ...), 2 usage error.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "core/threads.h"
#include "io/file.h"
#include "lstm/lstm.h"

namespace {

const char* kUsage =
    "usage: lstm <command> [options]\n"
    "\n"
    "Long Short-Term Memory networks from the command line.\n"
    "\n"
    "commands:\n"
    "  train     train a model on X.npy / y.npy, or a forecaster on a CSV, and save it\n"
    "  evaluate  score a forecaster on a CSV's test part against naive baselines\n"
    "  forecast  forecast the rows after the end of a CSV\n"
    "  backtest  train and score a forecaster at several origins (rolling or expanding)\n"
    "  predict   run a saved model on X.npy and write the predictions (.npy)\n"
    "  summary   print a saved model's layers, shapes and parameter counts\n"
    "  bench     measure throughput on a shape or on the standard benchmark suite\n"
    "  text train | score | sample   language models from text files: train, score, generate\n"
    "  classify train | predict      text classifiers from CSV, TSV or JSONL files\n"
    "  music train | generate        melody models from MIDI files: train, compose a MIDI file\n"
    "  seq2seq train | translate | evaluate   encoder-decoders with attention on text pairs\n"
    "  speech train | transcribe | evaluate   speech recognisers from recordings (CTC)\n"
    "  video train | classify | predict-frames   activity recognition and next-frame prediction\n"
    "  demo long-memory | gates | overfitting | speed   the seed's claims shown, with pictures\n"
    "  convert   a model from one format to another (lstm, PyTorch), checked before it is written\n"
    "  verify    compare a model with another file of it, layer by layer, in that file's framework\n"
    "\n"
    "Run 'lstm <command> --help' for a command's options; 'lstm --version' for the version.\n";

// Under mpirun (lstm/distributed.h): every rank runs the command and trains its share of each
// batch; rank 0 prints and writes the files, the others compute only. An error on any rank ends
// the whole job (MPI_Abort) after printing it, so that no rank waits for a dead one.
int finish(int code) {
  if (code != 0 && lstm::distributed::active()) {
    std::fflush(stderr);
    lstm::distributed::abort(code);
  }
  return code;
}

std::string rank_tag() {
  return lstm::distributed::active() ? " (rank " + std::to_string(lstm::distributed::rank()) + ")" : "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lstm::cli;
  // oneDNN's sgemm allocates and zeroes large scratch buffers on every call; glibc would map
  // each one afresh (page faults: 14% of imdb-h100-train). Keep them in the heap instead. A
  // process setting, so the program makes it, not the library.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  int first = 2;  // the first option
  if ((cmd == "text" || cmd == "classify" || cmd == "music" || cmd == "seq2seq" ||
       cmd == "speech" || cmd == "video" || cmd == "demo") &&
      argc >= 3 && argv[2][0] != '-')
    cmd += std::string(" ") + argv[2], first = 3;
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("lstm %s\n", lstm::version());
    return 0;
  }
  struct Entry { const Command* command; int (*run)(const Args&); };
  const Entry entries[] = {{&kTrain, run_train},
                           {&kEvaluate, run_evaluate},
                           {&kForecast, run_forecast},
                           {&kBacktest, run_backtest},
                           {&kPredict, run_predict},
                           {&kSummary, run_summary},
                           {&kBench, run_bench},
                           {&kTextTrain, run_text_train},
                           {&kTextScore, run_text_score},
                           {&kTextSample, run_text_sample},
                           {&kClassifyTrain, run_classify_train},
                           {&kClassifyPredict, run_classify_predict},
                           {&kMusicTrain, run_music_train},
                           {&kMusicGenerate, run_music_generate},
                           {&kSeq2seqTrain, run_seq2seq_train},
                           {&kSeq2seqTranslate, run_seq2seq_translate},
                           {&kSeq2seqEvaluate, run_seq2seq_evaluate},
                           {&kSpeechTrain, run_speech_train},
                           {&kSpeechTranscribe, run_speech_transcribe},
                           {&kSpeechEvaluate, run_speech_evaluate},
                           {&kVideoTrain, run_video_train},
                           {&kVideoClassify, run_video_classify},
                           {&kVideoPredictFrames, run_video_predict_frames},
                           {&kDemoLongMemory, run_demo_long_memory},
                           {&kDemoGates, run_demo_gates},
                           {&kDemoOverfitting, run_demo_overfitting},
                           {&kDemoSpeed, run_demo_speed},
                           {&kConvert, run_convert},
                           {&kVerify, run_verify}};
  for (const Entry& e : entries) {
    if (cmd != e.command->name) continue;
    if (lstm::distributed::launched_by_mpirun()) {
      lstm::distributed::init();
      if (lstm::distributed::rank() != 0) {
        if (!std::freopen("/dev/null", "w", stdout)) return finish(1);
        lstm::discard_writes();
      }
    }
    try {
      Args args(*e.command, argc, argv, first);
      if (args.help()) {
        std::fputs(e.command->help().c_str(), stdout);
        return 0;
      }
      if (args.has("threads")) {
        lstm::set_num_threads(int(args.integer("threads", 0, 1, 4096)));
      } else {
        lstm::init_threads();  // LSTM_NUM_THREADS, checked here so a bad value is reported
      }
      return finish(e.run(args));
    } catch (const UsageError& err) {
      std::fprintf(stderr, "lstm %s: usage error%s: %s\n", cmd.c_str(), rank_tag().c_str(), err.what());
      return finish(2);
    } catch (const lstm::Error& err) {
      std::fprintf(stderr, "lstm %s: error%s: %s\n", cmd.c_str(), rank_tag().c_str(), err.what());
      return finish(1);
    } catch (const std::bad_alloc&) {
      // Allocations sized by a file are checked before they are made (with a message naming
      // them); this is memory running out on sizes the user chose.
      bool batches = false;
      for (const Option& o : e.command->options) batches = batches || o.name == "batch-size";
      std::fprintf(stderr, "lstm %s: error%s: out of memory%s\n", cmd.c_str(), rank_tag().c_str(),
                   batches ? " (a smaller --batch-size needs less)" : "");
      return finish(1);
    } catch (const std::exception& err) {
      std::fprintf(stderr, "lstm %s: error%s: %s\n", cmd.c_str(), rank_tag().c_str(), err.what());
      return finish(1);
    }
  }
  std::fprintf(stderr, "lstm: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
