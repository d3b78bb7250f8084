// The checkpointed state is the whole training state: restoring it reproduces the next epoch exactly.
#include <gtest/gtest.h>

#include "toy2d_fixture.h"

using dagalign::testing::Toy2dRun;

static const char* kIni =
    "[sample]\nsteps = 10\nbatch_size = 32\nbatches_per_epoch = 2\nlog_prob_reduce = sum\nguidance = 1\n"
    "[train]\nepochs = 4\nbatch_size = 32\ngrad_accum = 1\nreward_exp = 1\nanneal = none\nlr = 3e-3\n"
    "[toy2d]\npretrain_steps = 50\nhidden = 32\n";

static std::vector<at::Tensor> params(Toy2dRun& r) {
  std::vector<at::Tensor> out;
  for (const auto& [n, t] : r.trainer->trainables()) out.push_back(t.detach().clone());
  return out;
}

TEST(ResumeState, RestoredStateReproducesTheNextEpochBitwise) {
  at::set_num_threads(1);
  for (const char* algo : {"dagdb", "ddpo"}) {
    Toy2dRun a(kIni, std::string("[train]\nalgorithm = ") + algo + "\n");
    a.train_epochs(2);
    auto saved = a.trainer->state_dict();
    a.trainer->train_on(a.trainer->sample_epoch(2), 2);
    auto direct = params(a);

    Toy2dRun b(kIni, std::string("[train]\nalgorithm = ") + algo + "\n");
    b.trainer->load_state_dict(saved);
    b.trainer->train_on(b.trainer->sample_epoch(2), 2);
    auto resumed = params(b);
    ASSERT_EQ(direct.size(), resumed.size());
    for (size_t i = 0; i < direct.size(); ++i) EXPECT_TRUE(direct[i].equal(resumed[i])) << algo << " tensor " << i;
  }
}
