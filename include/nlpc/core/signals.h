#pragma once
// Cooperative interruption: SIGINT/SIGTERM set a flag; long-running loops call check_interrupted().
// A second signal of the same kind restores the default action (hard kill).

namespace nlpc {

void install_signal_handlers();
// Non-zero signal number once SIGINT/SIGTERM was received, else 0.
int interrupted();
// Throws InterruptedError when a signal was received.
void check_interrupted();
// For tests.
void reset_interrupted();

}  // namespace nlpc
