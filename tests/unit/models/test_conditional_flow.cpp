// DAG's ConditionalFlow: one scalar per sample, diffusers-style module paths, gradients reaching every
// parameter, no mixing across the batch (permutation-equivariant, a sample alone == its row in a batch),
// the head == AvgPool2d(4) + Linear of the last block's 4x4 map, the official SD 1.5 layout, and
// configuration errors naming the key.
#include <gtest/gtest.h>

#include <set>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/models/conditional_flow.h"
#include "dagalign/models/timestep_embedding.h"

namespace dagalign {
namespace {

ConditionalFlowConfig tiny_config() {
  ConditionalFlowConfig c;
  c.in_channels = 3;
  c.channels = {8, 16, 16};
  c.heads = 2;
  c.groups = 4;
  c.cross_attention_dim = 12;
  return c;
}

struct Inputs {
  at::Tensor x, t, ctx;
};
Inputs inputs(const ConditionalFlowConfig& c, int64_t b, int64_t hw, int64_t len, uint64_t seed) {
  auto g = make_generator(seed);
  return {at::randn({b, c.in_channels, hw, hw}, g), at::randint(1000, {b}, g, at::kLong),
          at::randn({b, len, c.cross_attention_dim}, g)};
}

TEST(ConditionalFlow, ScalarPerSampleAndDiffusersPaths) {
  at::manual_seed(0);
  ConditionalFlow f(tiny_config());
  auto in = inputs(f->config, 5, 32, 7, 1);
  auto out = f(in.x, in.t, in.ctx);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{5}));
  EXPECT_TRUE(out.isfinite().all().item<bool>());
  // a batch of one still gives shape (1,), not a 0-d tensor
  EXPECT_EQ(f(in.x.slice(0, 0, 1), in.t.slice(0, 0, 1), in.ctx.slice(0, 0, 1)).sizes(), (std::vector<int64_t>{1}));
  std::set<std::string> names;
  for (const auto& p : f->named_parameters()) names.insert(p.key());
  for (const char* k : {"conv_in.weight", "time_embedding.linear_1.weight", "time_embedding.linear_2.bias",
                        "down_blocks.0.resnets.0.conv1.weight",
                        "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                        "down_blocks.1.attentions.0.proj_in.weight", "down_blocks.2.downsamplers.0.conv.weight",
                        "head.weight", "head.bias"})
    EXPECT_TRUE(names.count(k)) << k;
  for (const auto& n : names) EXPECT_EQ(n.rfind("down_blocks.2.attentions", 0), std::string::npos) << n;  // last: DownBlock2D
  EXPECT_EQ(f->head->weight.sizes(), (std::vector<int64_t>{1, 16}));
  EXPECT_EQ(f->time_embedding->linear_2->weight.size(0), 32);  // 4 * C0
}

TEST(ConditionalFlow, GradientReachesEveryParameterAndDependsOnInputs) {
  at::manual_seed(1);
  ConditionalFlow f(tiny_config());
  auto in = inputs(f->config, 3, 32, 5, 2);
  f(in.x, in.t, in.ctx).pow(2).sum().backward();
  size_t n = 0;
  for (const auto& p : f->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    ++n;
  }
  EXPECT_GT(n, 40u);
  at::NoGradGuard ng;
  auto base = f(in.x, in.t, in.ctx);
  // each input changes the output: the prompt (cross-attention), the timestep and the state
  EXPECT_GT((f(in.x, in.t, in.ctx + 1) - base).abs().max().item<double>(), 1e-6);
  EXPECT_GT((f(in.x, (in.t + 400) % 1000, in.ctx) - base).abs().max().item<double>(), 1e-6);
  EXPECT_GT((f(in.x * 0.5, in.t, in.ctx) - base).abs().max().item<double>(), 1e-6);
}

TEST(ConditionalFlow, NoMixingAcrossTheBatch) {
  at::manual_seed(2);
  ConditionalFlow f(tiny_config());
  at::NoGradGuard ng;
  auto in = inputs(f->config, 6, 32, 4, 3);
  auto out = f(in.x, in.t, in.ctx);
  auto perm = at::tensor(std::vector<int64_t>{3, 0, 5, 1, 4, 2});
  auto permuted = f(in.x.index_select(0, perm), in.t.index_select(0, perm), in.ctx.index_select(0, perm));
  EXPECT_LE((permuted - out.index_select(0, perm)).abs().max().item<double>(), 1e-5);
  for (int64_t i : {0, 4}) {
    auto alone = f(in.x.slice(0, i, i + 1), in.t.slice(0, i, i + 1), in.ctx.slice(0, i, i + 1));
    EXPECT_NEAR(alone.item<double>(), out[i].item<double>(), 1e-5) << i;
  }
}

TEST(ConditionalFlow, HeadIsAvgPool4PlusLinearOfTheLastMap) {
  at::manual_seed(3);
  ConditionalFlow f(tiny_config());
  at::NoGradGuard ng;
  auto in = inputs(f->config, 2, 32, 6, 4);
  auto out = f(in.x, in.t, in.ctx);
  // Manual forward through the submodules, then nn.AvgPool2d(4) -> Linear as DAG writes it.
  auto emb = f->time_embedding(timestep_embedding(in.t, 8, true, 0.0));
  auto h = f->conv_in(in.x);
  for (size_t i = 0; i < f->down_blocks->size(); ++i)
    h = f->down_blocks->ptr<UNetDownBlockImpl>(i)->forward(h, emb, in.ctx)[0];
  ASSERT_EQ(h.sizes(), (std::vector<int64_t>{2, 16, 4, 4}));  // 32 -> 16 -> 8 -> 4
  auto pooled = at::avg_pool2d(h, {4, 4}).flatten(1);     // (2, 16)
  auto manual = (pooled * f->head->weight.squeeze(0)).sum(1) + f->head->bias;
  EXPECT_LE((out - manual).abs().max().item<double>(), 1e-5 * (1 + manual.abs().max().item<double>()));
}

TEST(ConditionalFlow, OfficialSD15Layout) {
  at::manual_seed(5);
  ConditionalFlowConfig c;  // 4 latent channels, 64,128,256,256, 8 heads, 32 groups, 768-d context
  ConditionalFlow f(c);
  EXPECT_TRUE(f->config.block_has_attention(2));
  EXPECT_FALSE(f->config.block_has_attention(3));
  EXPECT_EQ(f->conv_in->weight.sizes(), (std::vector<int64_t>{64, 4, 3, 3}));
  EXPECT_EQ(f->time_embedding->linear_2->weight.sizes(), (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(f->head->weight.sizes(), (std::vector<int64_t>{1, 256}));
  std::set<std::string> names;
  for (const auto& p : f->named_parameters()) names.insert(p.key());
  EXPECT_TRUE(names.count("down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_k.weight"));
  EXPECT_TRUE(names.count("down_blocks.3.downsamplers.0.conv.weight"));
  EXPECT_EQ(f->down_blocks->ptr<UNetDownBlockImpl>(2)->attentions->ptr<Transformer2DModelImpl>(0)
                ->transformer_blocks->size(), 1u);
  // 768-d text context; a 32x32 latent keeps the attention maps small (64x64 runs the same code)
  at::NoGradGuard ng;
  auto in = inputs(c, 1, 32, 77, 6);
  EXPECT_EQ(f(in.x, in.t, in.ctx).sizes(), (std::vector<int64_t>{1}));
}

TEST(ConditionalFlow, ConfigErrorsNameTheKey) {
  auto c = tiny_config();
  c.groups = 3;
  try {
    ConditionalFlow f(c);
    FAIL() << "groups 3 accepted for 8 channels";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("flow.groups"), std::string::npos) << e.what();
  }
  c = tiny_config();
  c.heads = 3;
  EXPECT_THROW(ConditionalFlow{c}, ConfigError);
  c = tiny_config();
  c.channels.clear();
  EXPECT_THROW(ConditionalFlow{c}, ConfigError);
}

}  // namespace
}  // namespace dagalign
