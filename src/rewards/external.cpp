#include "dagalign/rewards/external.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>
#include <thread>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/rewards/images.h"

extern char** environ;

namespace dagalign {

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the external reward protocol is little-endian; add byte swapping for this host"
#endif

namespace {

constexpr uint32_t kVersion = 1;
using Clock = std::chrono::steady_clock;

// A crash or a hang: the process is reaped and the batch retried.
struct ScorerDied : Error {
  bool timed_out;
  ScorerDied(const std::string& m, bool t) : Error(m), timed_out(t) {}
};

void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  const size_t n = b.size();
  b.resize(n + 4);
  std::memcpy(b.data() + n, &v, 4);
}

int remaining_ms(Clock::time_point deadline) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms <= 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

void send_all(int fd, const uint8_t* p, size_t n, Clock::time_point deadline, const char* what) {
  while (n > 0) {
    pollfd pf{fd, POLLOUT, 0};
    const int t = remaining_ms(deadline);
    const int rc = poll(&pf, 1, t);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) throw ScorerDied(cat("timed out writing the ", what, " (scorer not reading)"), true);
    const ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      throw ScorerDied(cat("connection lost writing the ", what, ": ", std::strerror(errno)), false);
    }
    p += k, n -= static_cast<size_t>(k);
  }
}

void recv_all(int fd, uint8_t* p, size_t n, Clock::time_point deadline, const char* what) {
  while (n > 0) {
    pollfd pf{fd, POLLIN, 0};
    const int rc = poll(&pf, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) throw ScorerDied(cat("timed out waiting for the ", what), true);
    const ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
    if (k == 0) throw ScorerDied(cat("connection closed (EOF) while reading the ", what), false);
    if (k < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      throw ScorerDied(cat("connection lost reading the ", what, ": ", std::strerror(errno)), false);
    }
    p += k, n -= static_cast<size_t>(k);
  }
}

uint32_t recv_u32(int fd, Clock::time_point deadline, const char* what) {
  uint32_t v;
  recv_all(fd, reinterpret_cast<uint8_t*>(&v), 4, deadline, what);
  return v;
}

std::string recv_magic(int fd, Clock::time_point deadline, const char* what) {
  char m[4];
  recv_all(fd, reinterpret_cast<uint8_t*>(m), 4, deadline, what);
  return std::string(m, 4);
}

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
}

}  // namespace

std::vector<std::string> split_command(const std::string& line) {
  std::istringstream is(line);
  std::vector<std::string> out;
  for (std::string w; is >> w;) out.push_back(w);
  return out;
}

ExternalReward::ExternalReward(ExternalOptions options) : opt_(std::move(options)) {
  if (opt_.name.empty()) opt_.name = "external";
  DAG_CHECK(!opt_.command.empty(), "reward '", opt_.name, "': no scorer command given (reward.external_command)");
  DAG_CHECK(opt_.timeout_s > 0 && opt_.startup_timeout_s > 0, "reward '", opt_.name,
            "': timeouts must be > 0, found timeout ", opt_.timeout_s, " s, startup ", opt_.startup_timeout_s, " s");
  DAG_CHECK(opt_.retries >= 0, "reward '", opt_.name, "': retries must be >= 0, found ", opt_.retries);
}

ExternalReward::~ExternalReward() {
  try {
    stop();
  } catch (...) {
  }
}

std::string ExternalReward::who() const {
  std::string cmd;
  for (const auto& a : opt_.command) cmd += (cmd.empty() ? "" : " ") + a;
  return cat("reward '", opt_.name, "' (", cmd, ")");
}

void ExternalReward::start() {
  int sv[2];
  DAG_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, who(), ": socketpair failed: ",
            std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);  // stdin  <- our requests
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);  // stdout -> our answers; stderr is inherited (logs)
  std::vector<char*> argv;
  for (auto& a : opt_.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    throw Error(cat(who(), ": cannot start the scorer: ", std::strerror(rc)));
  }
  pid_ = pid, fd_ = sv[0];
  ++spawns_;
  // hello: "DAGH" version
  const auto deadline = after(opt_.startup_timeout_s);
  std::string magic;
  try {
    magic = recv_magic(fd_, deadline, "hello message at start-up");
  } catch (ScorerDied& e) {
    if (e.timed_out)
      throw ScorerDied(cat(e.what(), " (startup timeout ", opt_.startup_timeout_s, " s)"), true);
    throw;
  }
  DAG_CHECK(magic == "DAGH", who(), ": protocol error: expected hello magic 'DAGH', found '", magic,
            "' (is the scorer printing to stdout? log to stderr)");
  const uint32_t v = recv_u32(fd_, deadline, "hello version");
  DAG_CHECK(v == kVersion, who(), ": protocol version ", v, " but this build speaks version ", kVersion);
}

void ExternalReward::stop() {
  if (fd_ >= 0) close(fd_), fd_ = -1;
  if (pid_ > 0) {
    // EOF on its stdin asks the scorer to exit; SIGKILL after 1 s
    int status = 0;
    pid_t r = 0;
    for (int i = 0; i < 100 && (r = waitpid(pid_, &status, WNOHANG)) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (r == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = 0;
  }
}

std::vector<float> ExternalReward::exchange(const std::vector<uint8_t>& request, int64_t batch) {
  const auto deadline = after(opt_.timeout_s);
  send_all(fd_, request.data(), request.size(), deadline, "request");
  const std::string magic = recv_magic(fd_, deadline, "answer");
  if (magic == "DAGE") {
    const uint32_t len = recv_u32(fd_, deadline, "error message length");
    DAG_CHECK(len <= (1u << 20), who(), ": protocol error: error message of ", len, " bytes");
    std::string msg(len, '\0');
    recv_all(fd_, reinterpret_cast<uint8_t*>(msg.data()), len, deadline, "error message");
    throw Error(cat(who(), ": the scorer refused the batch: ", msg));
  }
  DAG_CHECK(magic == "DAGS", who(), ": protocol error: expected answer magic 'DAGS', found '", magic, "'");
  const uint32_t count = recv_u32(fd_, deadline, "score count");
  DAG_CHECK(static_cast<int64_t>(count) == batch, who(), ": wrong count: expected ", batch,
            " scores, the scorer sent ", count);
  std::vector<float> s(count);
  recv_all(fd_, reinterpret_cast<uint8_t*>(s.data()), 4 * static_cast<size_t>(count), deadline, "scores");
  return s;
}

at::Tensor ExternalReward::score(const at::Tensor& samples, const std::vector<std::string>& prompts) {
  at::Tensor u8 = to_uint8_nhwc(samples, opt_.name.c_str());  // (B, H, W, C)
  const int64_t B = u8.size(0);
  DAG_CHECK(static_cast<int64_t>(prompts.size()) == B, who(), ": ", B, " images but ", prompts.size(), " prompts");
  // request: "DAGR" version B H W C, B x (len, prompt), B*H*W*C bytes
  std::vector<uint8_t> req;
  req.insert(req.end(), {'D', 'A', 'G', 'R'});
  put_u32(req, kVersion);
  for (int d = 0; d < 4; ++d) put_u32(req, static_cast<uint32_t>(u8.size(d)));
  for (const std::string& p : prompts) {
    put_u32(req, static_cast<uint32_t>(p.size()));
    req.insert(req.end(), p.begin(), p.end());
  }
  const uint8_t* px = u8.data_ptr<uint8_t>();
  req.insert(req.end(), px, px + u8.numel());

  std::vector<std::string> failures;
  for (int attempt = 0; attempt <= opt_.retries; ++attempt) {
    std::vector<float> s;
    try {
      if (pid_ == 0) start();
      s = exchange(req, B);
    } catch (const ScorerDied& e) {
      // reap: kill a hung scorer at once; a crashed one has exited (its status tells how)
      int status = 0;
      std::string how;
      if (e.timed_out) {
        kill(pid_, SIGKILL);
        how = "killed after the timeout";
      } else {
        pid_t r = 0;
        for (int i = 0; i < 200 && (r = waitpid(pid_, &status, WNOHANG)) == 0; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (r == pid_) {
          how = WIFSIGNALED(status) ? cat("killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")")
                                    : cat("exited with status ", WEXITSTATUS(status));
          pid_ = -pid_;  // reaped already; stop() must not wait for it
        } else {
          kill(pid_, SIGKILL);
          how = "still running after closing its output; killed";
        }
      }
      if (pid_ < 0) pid_ = 0;
      stop();
      failures.push_back(cat(e.what(), "; scorer ", how));
      if (attempt < opt_.retries)
        log::warn(cat(who(), ": ", failures.back(), "; restarting the scorer and retrying the batch"));
      continue;
    } catch (...) {
      stop();  // a protocol error leaves the stream out of step: the next batch gets a fresh scorer
      throw;
    }
    at::Tensor out = at::empty({B}, at::kFloat);
    for (int64_t i = 0; i < B; ++i) {
      if (!std::isfinite(s[i])) {
        stop();
        throw Error(cat(who(), ": non-finite score ", s[i], " for sample ", i, " of ", B, " (prompt '", prompts[i], "')"));
      }
    }
    std::memcpy(out.data_ptr<float>(), s.data(), sizeof(float) * static_cast<size_t>(B));
    return out;
  }
  std::string all;
  for (size_t i = 0; i < failures.size(); ++i) all += cat(i ? " | " : "", "attempt ", i + 1, ": ", failures[i]);
  throw Error(cat(who(), ": scorer failed ", failures.size(), " time(s) on a batch of ", B, ": ", all));
}

}  // namespace dagalign
