#include "dagalign/train/signals.h"

#include <csignal>

#include "dagalign/core/error.h"

namespace dagalign {

namespace {
volatile std::sig_atomic_t g_preempt = 0;
extern "C" void on_preempt_signal(int) { g_preempt = 1; }
}  // namespace

const std::vector<std::string>& preempt_signals() {
  static const std::vector<std::string> names = {"USR1", "USR2", "TERM", "INT"};
  return names;
}

void install_preempt_handler(const std::string& name) {
  int sig = name == "USR1" ? SIGUSR1 : name == "USR2" ? SIGUSR2 : name == "TERM" ? SIGTERM : name == "INT" ? SIGINT : 0;
  if (!sig) throw ConfigError(cat("run.preempt_signal: unknown signal '", name, "' (expected USR1, USR2, TERM or INT)"));
  struct sigaction sa {};
  sa.sa_handler = on_preempt_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, nullptr);
}

void ignore_termination() { std::signal(SIGTERM, SIG_IGN); }

bool preempt_requested() { return g_preempt != 0; }
void request_preempt() { g_preempt = 1; }
void clear_preempt() { g_preempt = 0; }

}  // namespace dagalign
