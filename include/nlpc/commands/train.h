#pragma once
// `nlpc train --config FILE.json [--set key=value ...] [--resume RUN]`: trains the model the
// configuration describes, records everything in a run folder, evaluates the saved model on
// valid/test with the same code as `nlpc eval`, prints the run id and the final table.
#include <string>
#include <vector>

#include "nlpc/runs/run.h"

namespace nlpc {

struct TrainCommandOptions {
  std::string config;
  std::vector<std::string> sets;
  std::string resume;  // run id (or prefix) or run folder to continue
  runs::RunOptions run;
};

int run_train(const TrainCommandOptions& opts);

}  // namespace nlpc
