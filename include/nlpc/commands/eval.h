#pragma once
// `nlpc eval --model DIR --data FILE [--task T]`: scores a model on labelled data with its task's
// scorer (tasks::find_task(opts.task).evaluate: metrics, bootstrap intervals, artifacts), then
// applies the CI gates (--gate, --baseline/--max-drop; exit 3 when one fails). The evaluation is
// recorded as a run (metrics logged as test/<metric>, artifacts as in training).
#include <cstdint>
#include <string>
#include <vector>

#include "nlpc/tasks/options.h"

namespace nlpc {

int run_eval(const EvalCommandOptions& opts);

}  // namespace nlpc
