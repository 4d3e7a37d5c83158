// The subcommands of build/bin/lstm. Each returns the process exit code; errors are thrown
// (lstm::Error -> 1, cli::UsageError -> 2) and reported by main.
#pragma once

#include "cli/args.h"

namespace lstm::cli {

extern const Command kTrain, kPredict, kSummary;

int run_train(const Args& args);
int run_predict(const Args& args);
int run_summary(const Args& args);

}  // namespace lstm::cli
