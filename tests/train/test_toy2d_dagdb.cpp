// Must-show 3 of the engine: DAG-DB on the 2-D world converges towards the target ∝ R(x)^beta.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "toy2d_fixture.h"

using dagalign::testing::Toy2dRun;

static std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Toy2dDagDb, ConvergesToTargetDistribution) {
  at::set_num_threads(1);
  const char* extra = std::getenv("TOY2D_EXTRA");  // experiments only: INI overrides
  Toy2dRun run(read(std::string(DAGALIGN_SOURCE_DIR) + "/configs/toy2d/dagdb.ini"), extra ? extra : "");
  const double tv_base = run.tv_to_target(4096, 99, 8);
  run.train_epochs(run.train.epochs, std::getenv("TOY2D_TRACE") ? 10 : 0);
  const double tv_trained = run.tv_to_target(4096, 99, 8);
  std::printf("binned TV to the target: base %.3f, after %d epochs of DAG-DB %.3f\n", tv_base, run.train.epochs,
              tv_trained);
  EXPECT_GT(tv_base, 0.4);
  EXPECT_LT(tv_trained, 0.15);
}
