#pragma once
// Preemption: the signal handler only sets a flag; ranks agree at the next step boundary (all-reduce of
// the flag), checkpoint, and exit with kPreemptedExitCode so the batch script requeues the job.
#include <string>
#include <vector>

namespace dagalign {

constexpr int kPreemptedExitCode = 75;  // EX_TEMPFAIL: "checkpointed, requeue me"

// The signals that can ask for preemption: USR1, USR2, TERM, INT (run.preempt_signal).
const std::vector<std::string>& preempt_signals();
// Installs the handler for the named signal (one of preempt_signals()); ConfigError on another name.
void install_preempt_handler(const std::string& signal_name);
bool preempt_requested();    // this process has received the signal
void request_preempt();      // as if the signal had arrived (tests)
void clear_preempt();
// After the ranks agreed to checkpoint and exit: SIGTERM (e.g. srun killing a late rank) is ignored.
void ignore_termination();

}  // namespace dagalign
