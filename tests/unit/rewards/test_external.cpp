#include "dagalign/rewards/external.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/rewards/images.h"
#include "dagalign/rewards/jpeg.h"

using namespace dagalign;

namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kScorer = std::string(DAGALIGN_SOURCE_DIR) + "/tests/unit/rewards/scorers/misbehave.py";

ExternalOptions options(std::vector<std::string> mode, double timeout = 2.0) {
  ExternalOptions o;
  o.name = "ext_test";
  o.command = {kPython, kScorer, "--mode"};
  o.command.insert(o.command.end(), mode.begin(), mode.end());
  o.timeout_s = timeout;
  o.startup_timeout_s = timeout;
  o.retries = 1;
  return o;
}

// The test scorer's closed form: mean byte of the uint8 image + 256 * UTF-8 length of the prompt.
std::vector<double> expected(const at::Tensor& images, const std::vector<std::string>& prompts) {
  at::Tensor u8 = to_uint8_nhwc(images, "test").to(at::kDouble);
  std::vector<double> out;
  for (int64_t i = 0; i < u8.size(0); ++i) out.push_back(u8[i].mean().item<double>() + 256.0 * prompts[i].size());
  return out;
}

struct Outcome {
  std::string error;
  double seconds;
};

Outcome run(ExternalReward& r, const at::Tensor& x, const std::vector<std::string>& p) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string err;
  try {
    r.score(x, p);
  } catch (const Error& e) {
    err = e.what();
  }
  return {err, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

std::string temp_marker() {
  char path[] = "/tmp/dagalign-ext-XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  unlink(path);  // the scorer creates it on its first (misbehaving) request
  return path;
}

at::Tensor images(int64_t b) {
  at::manual_seed(3);
  return at::rand({b, 3, 8, 6});
}

const std::vector<std::string> kPrompts = {"a red circle", "", "café ☕", "x"};

}  // namespace

TEST(ExternalReward, RoundTripImagesPromptsAndOrder) {
  ExternalReward r(options({"ok"}));
  at::Tensor x = images(4);
  for (int round = 0; round < 2; ++round) {  // the same process serves several batches
    at::Tensor s = r.score(x, kPrompts);
    ASSERT_EQ(s.sizes(), (std::vector<int64_t>{4}));
    std::vector<double> want = expected(x, kPrompts);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(s[i].item<float>(), want[i], 1e-3 * (1 + want[i])) << i;
  }
  EXPECT_EQ(r.spawn_count(), 1);
  // a bigger batch than the socket buffer (B * 3 * 64 * 64 = 393 kB)
  at::Tensor big = at::rand({32, 3, 64, 64});
  std::vector<std::string> p(32, "p");
  at::Tensor s = r.score(big, p);
  std::vector<double> want = expected(big, p);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(s[i].item<float>(), want[i], 1e-3 * want[i]) << i;
}

// The example Python scorer (PIL at quality 95) agrees with the built-in JPEG reward byte for byte.
TEST(ExternalReward, ExamplePilScorerEqualsBuiltInJpegReward) {
  ExternalOptions o;
  o.name = "jpeg_external";
  o.command = {kPython, std::string(DAGALIGN_SOURCE_DIR) + "/tools/rewards/jpeg_size_scorer.py"};
  o.timeout_s = o.startup_timeout_s = 20;
  ExternalReward ext(o);
  at::manual_seed(1);
  at::Tensor x = at::cat({at::rand({3, 3, 32, 32}), at::full({1, 3, 32, 32}, 0.4f)});
  std::vector<std::string> p(4, "");
  at::Tensor a = ext.score(x, p), b = JpegReward(false).score(x, p);
  EXPECT_TRUE(at::equal(a, b)) << a << b;
}

TEST(ExternalReward, HungScorerTimesOutRestartsAndFails) {
  ExternalReward r(options({"hang"}, 1.0));
  Outcome o = run(r, images(2), {"a", "b"});
  EXPECT_NE(o.error.find("reward 'ext_test'"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("failed 2 time(s)"), std::string::npos) << o.error;
  EXPECT_LT(o.seconds, 6.0);  // 2 attempts x 1 s + start-up
  EXPECT_EQ(r.spawn_count(), 2);
}

TEST(ExternalReward, SilentScorerHitsStartupTimeout) {
  ExternalReward r(options({"hang-start"}, 1.0));
  Outcome o = run(r, images(1), {"a"});
  EXPECT_NE(o.error.find("startup timeout"), std::string::npos) << o.error;
  EXPECT_LT(o.seconds, 6.0);
}

TEST(ExternalReward, CrashReportsExitStatus) {
  ExternalReward r(options({"crash"}));
  Outcome o = run(r, images(2), {"a", "b"});
  EXPECT_NE(o.error.find("reward 'ext_test'"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("exited with status 3"), std::string::npos) << o.error;
  EXPECT_EQ(r.spawn_count(), 2);
  EXPECT_LT(o.seconds, 8.0);
}

TEST(ExternalReward, CrashBySignalReportsSignal) {
  ExternalReward r(options({"segv"}));
  Outcome o = run(r, images(2), {"a", "b"});
  EXPECT_NE(o.error.find("killed by signal 11"), std::string::npos) << o.error;
}

TEST(ExternalReward, RestartAfterCrashOrHangRecovers) {
  for (const char* mode : {"crash-once", "hang-once"}) {
    const std::string marker = temp_marker();
    ExternalReward r(options({mode, marker}, 1.0));
    at::Tensor x = images(3);
    std::vector<std::string> p = {"one", "two", "three"};
    at::Tensor s = r.score(x, p);
    std::vector<double> want = expected(x, p);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(s[i].item<float>(), want[i], 1e-3 * want[i]) << mode;
    EXPECT_EQ(r.spawn_count(), 2) << mode;
    std::remove(marker.c_str());
  }
}

TEST(ExternalReward, WrongCountNamesExpectedAndFound) {
  ExternalReward r(options({"wrong-count"}));
  Outcome o = run(r, images(4), kPrompts);
  EXPECT_NE(o.error.find("wrong count: expected 4 scores, the scorer sent 3"), std::string::npos) << o.error;
  EXPECT_EQ(r.spawn_count(), 1);  // a protocol error is not retried
}

TEST(ExternalReward, NonFiniteScoreNamesSampleAndPrompt) {
  ExternalReward r(options({"nan"}));
  Outcome o = run(r, images(4), kPrompts);
  EXPECT_NE(o.error.find("non-finite score nan for sample 1 of 4"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("reward 'ext_test'"), std::string::npos) << o.error;
  // the next batch gets a fresh scorer process and works
}

TEST(ExternalReward, RefusalAndStdoutNoiseAreReported) {
  ExternalReward r(options({"refuse"}));
  Outcome o = run(r, images(2), {"a", "b"});
  EXPECT_NE(o.error.find("refused the batch: ValueError: cannot score these"), std::string::npos) << o.error;
  ExternalReward n(options({"stdout-noise"}));
  o = run(n, images(2), {"a", "b"});
  EXPECT_NE(o.error.find("expected hello magic 'DAGH'"), std::string::npos) << o.error;
}

TEST(ExternalReward, MissingProgramAndBadInput) {
  ExternalOptions o;
  o.command = {"/nonexistent/scorer"};
  ExternalReward r(o);
  Outcome out = run(r, images(1), {"a"});
  EXPECT_NE(out.error.find("cannot start the scorer"), std::string::npos) << out.error;
  ExternalReward ok(options({"ok"}));
  EXPECT_THROW(ok.score(images(2), {"only one"}), Error);
  EXPECT_THROW(ExternalReward(ExternalOptions{}), Error);
  EXPECT_EQ(split_command("  python3  a.py --x 1 "), (std::vector<std::string>{"python3", "a.py", "--x", "1"}));
}

TEST(ExternalReward, DestructorReapsTheScorer) {
  int pid = 0;
  {
    ExternalReward r(options({"ok"}));
    r.score(images(1), {"a"});
    pid = r.pid();
    ASSERT_GT(pid, 0);
  }
  EXPECT_EQ(kill(pid, 0), -1);  // gone (reaped)
}
