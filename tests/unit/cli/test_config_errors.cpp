// Must-show 6 of the engine: a bad configuration key, a bad value and a missing file each stop
// `dagalign train` with a non-zero exit and a message naming the key, value or file.
#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace {

struct Result {
  int code;
  std::string output;
};

Result run(const std::string& args) {
  std::string cmd = std::string(DAGALIGN_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string write_ini(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(ConfigErrors, UnknownKeyInFileNamesKeyAndFile) {
  auto ini = write_ini("bad_key.ini", "[train]\nlearning_rate = 1e-3\n");
  auto r = run("train --config " + ini);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("train.learning_rate"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(ini), std::string::npos) << r.output;
}

TEST(ConfigErrors, UnknownKeyOnCommandLine) {
  auto r = run("train --train.lrr 1e-3");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("train.lrr"), std::string::npos) << r.output;
}

TEST(ConfigErrors, MalformedValueNamesKeyAndValue) {
  auto ini = write_ini("bad_value.ini", "[train]\nlr = fast\n");
  auto r = run("train --config " + ini);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("fast"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("train.lr"), std::string::npos) << r.output;
}

TEST(ConfigErrors, OutOfRangeValueNamesKey) {
  auto r = run("train --sample.batch_size 3 --train.batch_size 5 --train.grad_accum 1");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("train.batch_size"), std::string::npos) << r.output;
}

TEST(ConfigErrors, MissingFileNamesFile) {
  auto r = run("train --config /nonexistent/dir/run.ini");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/dir/run.ini"), std::string::npos) << r.output;
}

TEST(ConfigErrors, UnknownCommandAndHelp) {
  EXPECT_EQ(run("frobnicate").code, 2);
  auto h = run("train --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.output.find("train.reward_exp"), std::string::npos);
}

TEST(ConfigErrors, CommandLineOverridesFile) {
  // The resolved configuration printed at start shows the command-line value, not the file's.
  auto ini = write_ini("override.ini", "[train]\nlr = 0.5\nepochs = 1\n[run]\ndir = " + ::testing::TempDir() +
                                           "override-run\n[sample]\nbatch_size = 8\nbatches_per_epoch = 1\nsteps = 2\n"
                                           "[toy2d]\npretrain_steps = 1\n");
  auto r = run("train --config " + ini + " --train.lr 0.25 --train.batch_size 8 --train.grad_accum 1 --run.threads 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("lr = 0.25"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("lr = 0.5"), std::string::npos) << r.output;
}

TEST(ConfigErrors, PositionalArgumentIsAnError) {
  // `dagalign train x.ini` (without --config) must not run 100 default epochs
  for (const char* cmd : {"train run.ini", "replay run.ini", "sample run.ini"}) {
    auto r = run(cmd);
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("--config FILE"), std::string::npos) << cmd << "\n" << r.output;
  }
}
