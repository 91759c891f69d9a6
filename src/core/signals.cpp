#include "nlpc/core/signals.h"

#include <atomic>
#include <csignal>

#include "nlpc/core/error.h"

namespace nlpc {
namespace {
std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig) {
  if (g_signal.load() != 0) {
    // Second signal: give up cooperative shutdown.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_signal.store(sig);
}
}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking reads return EINTR so loops notice promptly
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int interrupted() { return g_signal.load(); }

void check_interrupted() {
  int s = g_signal.load();
  if (s != 0) throw InterruptedError(s);
}

void reset_interrupted() { g_signal.store(0); }

}  // namespace nlpc
