// Must-show 4 of the engine: DAG-KL and DDPO raise the mean reward over the base model by at least three
// times the seed-to-seed standard deviation (3 seeds; each seed pretrains its own base and trains it).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "toy2d_fixture.h"

using dagalign::testing::Toy2dRun;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}
double stdev(const std::vector<double>& v) {
  double m = mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

void expect_reward_gain(const std::string& config) {
  at::set_num_threads(1);
  std::vector<double> base, trained;
  for (int seed : {0, 1, 2}) {
    Toy2dRun run(read(std::string(DAGALIGN_SOURCE_DIR) + "/configs/toy2d/" + config),
                 "[run]\nseed = " + std::to_string(seed) + "\n");
    base.push_back(run.mean_reward(2048, 1000 + seed));
    run.train_epochs(run.train.epochs);
    trained.push_back(run.mean_reward(2048, 1000 + seed));
    std::printf("%s seed %d: mean reward %.3f -> %.3f\n", config.c_str(), seed, base.back(), trained.back());
  }
  const double gain = mean(trained) - mean(base), spread = std::max(stdev(trained), stdev(base));
  std::printf("%s: gain %.3f, seed-to-seed std %.3f (ratio %.1f)\n", config.c_str(), gain, spread, gain / spread);
  EXPECT_GT(gain, 3 * spread);
}

}  // namespace

TEST(Toy2dRewardGain, DagKl) { expect_reward_gain("dagkl.ini"); }
TEST(Toy2dRewardGain, Ddpo) { expect_reward_gain("ddpo.ini"); }
