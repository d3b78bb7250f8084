#pragma once
// external: a reward computed by a child process (any language) speaking a small binary protocol over its
// stdin/stdout (one AF_UNIX stream socket; docs/rewards.md). All integers are little-endian uint32,
// floats little-endian IEEE float32.
//
//   scorer -> us, once at start:  "DAGH" version(=1)
//   us -> scorer, per batch:      "DAGR" version B H W C, then B x (len, len bytes of UTF-8 prompt),
//                                 then B*H*W*C uint8 image bytes (NHWC, uint8 = round(img*255).clamp(0,255))
//   scorer -> us, per batch:      "DAGS" count, then count x float32 scores          (success)
//                              or "DAGE" len, then len bytes of UTF-8 message         (the scorer refuses)
//
// A scorer that crashes (EOF / exit / signal) or hangs (no full answer before the timeout) is killed,
// respawned and the batch retried (`retries` times); a wrong count, a non-finite score, a bad magic or a
// DAGE answer stop with an Error naming the reward, the command and the sample.
#include <string>
#include <vector>

#include "dagalign/rewards/reward.h"

namespace dagalign {

struct ExternalOptions {
  std::string name = "external";         // reward name used in errors and logs
  std::vector<std::string> command;      // argv; argv[0] is looked up on PATH
  double startup_timeout_s = 120;        // from spawn to the hello message (model loading)
  double timeout_s = 60;                 // per batch: request written and full answer read
  int retries = 1;                       // respawns per batch after a crash or hang
};

// Splits a command line on whitespace ("python3 tools/rewards/x.py --flag"); no quoting.
std::vector<std::string> split_command(const std::string& line);

class ExternalReward : public Reward {
 public:
  explicit ExternalReward(ExternalOptions options);
  ~ExternalReward() override;
  ExternalReward(const ExternalReward&) = delete;
  ExternalReward& operator=(const ExternalReward&) = delete;

  std::string name() const override { return opt_.name; }
  at::Tensor score(const at::Tensor& samples, const std::vector<std::string>& prompts) override;

  int pid() const { return pid_; }           // current scorer process (0: none)
  int spawn_count() const { return spawns_; }  // processes started so far (1 + restarts)

 private:
  void start();
  void stop();  // closes the socket, reaps the child (SIGKILL after a grace period)
  std::vector<float> exchange(const std::vector<uint8_t>& request, int64_t batch);
  std::string who() const;  // "reward 'NAME' (COMMAND)"

  ExternalOptions opt_;
  int pid_ = 0;
  int fd_ = -1;
  int spawns_ = 0;
};

}  // namespace dagalign
