// train.lr_decay: the learning rate of each epoch against its closed form, and the error for an unknown value.
#include <cmath>

#include <gtest/gtest.h>

#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/train/train_config.h"

namespace dagalign {
namespace {

TrainerConfig parse(const std::string& ini) {
  Config c("test");
  TrainerConfig t;
  t.add_to(c);
  c.parse_ini_text(ini, "test.ini");
  t.finalize();
  return t;
}

TEST(TrainConfig, LrDecayCosineFollowsItsClosedForm) {
  auto none = parse("[train]\nepochs = 10\nlr = 2e-3\n");
  for (int e = 0; e < 10; ++e) EXPECT_EQ(none.lr_at(e), 2e-3);
  auto cos = parse("[train]\nepochs = 10\nlr = 2e-3\nlr_decay = cosine\n");
  EXPECT_DOUBLE_EQ(cos.lr_at(0), 2e-3);
  EXPECT_NEAR(cos.lr_at(5), 1e-3, 1e-15);  // half-way: lr / 2
  for (int e = 0; e < 10; ++e) {
    EXPECT_NEAR(cos.lr_at(e), 1e-3 * (1 + std::cos(M_PI * e / 10.0)), 1e-15) << e;
    if (e > 0) EXPECT_LT(cos.lr_at(e), cos.lr_at(e - 1)) << e;
  }
  EXPECT_GT(cos.lr_at(9), 0);
}

TEST(TrainConfig, LrDecayUnknownValueNamesTheKey) {
  try {
    parse("[train]\nlr_decay = linear\n");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.lr_decay"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'linear'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dagalign
