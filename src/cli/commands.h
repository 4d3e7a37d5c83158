// The subcommands of build/bin/lstm. Each returns the process exit code; errors are thrown
// (lstm::Error -> 1, cli::UsageError -> 2) and reported by main.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "cli/args.h"
#include "lstm/forecast.h"
#include "lstm/functional.h"

namespace lstm::cli {

extern const Command kTrain, kPredict, kSummary, kEvaluate, kForecast, kBench, kBacktest;
extern const Command kTextTrain, kTextScore, kTextSample;  // cmd_text.cpp
extern const Command kClassifyTrain, kClassifyPredict;    // cmd_classify.cpp
extern const Command kMusicTrain, kMusicGenerate;         // cmd_music.cpp
extern const Command kSeq2seqTrain, kSeq2seqTranslate, kSeq2seqEvaluate;  // cmd_seq2seq.cpp
extern const Command kSpeechTrain, kSpeechTranscribe, kSpeechEvaluate;    // cmd_speech.cpp
extern const Command kConvert, kVerify;                                   // cmd_convert.cpp
extern const Command kVideoTrain, kVideoClassify, kVideoPredictFrames;    // cmd_video.cpp
extern const Command kDemoLongMemory, kDemoGates, kDemoOverfitting, kDemoSpeed;  // cmd_demo.cpp

// --precision of the inference commands (predict, evaluate, forecast): the option, and applying
// it to a loaded model (fp32 unless given; bf16 or int8 on its LSTM layers, an Error when it has
// none).
Option precision_option();  // a function: commands in other files copy it while starting up
void apply_precision(const Args& a, Sequential& model);
void apply_precision(const Args& a, Model& model);

int run_train(const Args& args);
int run_predict(const Args& args);
int run_summary(const Args& args);
int run_evaluate(const Args& args);
int evaluate_arrays(const Args& args);  // lstm evaluate --x ... --y ... (cmd_evaluate.cpp)
int run_forecast(const Args& args);
int run_backtest(const Args& args);  // cmd_train.cpp
int run_bench(const Args& args);
int run_text_train(const Args& args);
int run_text_score(const Args& args);
int run_text_sample(const Args& args);
int run_classify_train(const Args& args);
int run_classify_predict(const Args& args);
int run_music_train(const Args& args);
int run_music_generate(const Args& args);
int run_seq2seq_train(const Args& args);
int run_seq2seq_translate(const Args& args);
int run_seq2seq_evaluate(const Args& args);
int run_speech_train(const Args& args);
int run_speech_transcribe(const Args& args);
int run_speech_evaluate(const Args& args);
int run_video_train(const Args& args);
int run_video_classify(const Args& args);
int run_video_predict_frames(const Args& args);
int run_demo_long_memory(const Args& args);
int run_demo_gates(const Args& args);
int run_demo_overfitting(const Args& args);
int run_demo_speed(const Args& args);
int run_convert(const Args& args);
int run_verify(const Args& args);

// A folder the CLI reads: the environment variable env_var when set, else
// <prefix>/share/lstm/<folder> beside an installed CLI (<prefix>/bin/lstm) when it holds
// `marker`, else the source tree the CLI was built from.
std::string installed_or_source(const char* env_var, const char* folder, const char* marker,
                                const char* source_tree);
// The reference scripts (torch_verify.py, bench_fit_torch.py, ...): LSTM_SCRIPTS_DIR, else
// installed, else the source tree's scripts/.
std::string scripts_dir();

// Throws lstm::Error when the folder of `path` does not exist or is not writable: checked
// before long work, so that none is lost.
void check_writable(const std::string& path);

// Throws UsageError when an output option names the same file as an input option or an
// earlier output (--out model.safetensors --init model.safetensors would destroy the input).
void check_outputs_distinct(const Args& args, std::initializer_list<const char*> outputs,
                            std::initializer_list<const char*> inputs);

// A CSV cell: quoted when it holds a comma, a quote or a line break (cmd_classify.cpp).
std::string csv_cell(const std::string& text);

// The number with `digits` decimals ("%.*f"), for the tables and reports the commands print.
std::string fixed(double value, int digits);

// --lengths L.npy: one integer per sample [N] (any integer or float dtype holding integers).
// Throws lstm::Error naming the file and the first bad entry.
std::vector<int64_t> load_lengths(const std::string& path);

// A forecaster's test predictions as CSV (cmd_forecast.cpp): the header [fold,]row,[step,]
// actual,predicted and q<level> per quantile level, then one line per prediction (fold 0: no
// fold column).
// Many series: the series column first, named `series_column`, holding `id`.
std::string predictions_csv_header(bool fold, bool steps, const std::vector<float>& levels,
                                   const std::string& series_column = "");
void append_predictions_csv(std::string& csv, const std::vector<PredictionRow>& rows, bool steps, int fold,
                            const std::string& id = "");

// The HTML report of a forecaster of many series: the per-series table, the transforms tried,
// the loss curves, and the test forecast of the first series.
std::string series_report(const SeriesEvaluation& ev, const std::map<std::string, std::vector<double>>& history,
                          const ForecastSelection* selection, const ForecastData& data,
                          const std::vector<std::pair<std::string, std::string>>& facts);

}  // namespace lstm::cli
