// The full SD 1.5 UNet from its config.json: exact parameter count, and tensor names/shapes equal to the
// list diffusers builds from the same file (tests/data/unet/sd15/shapes.json, tools/golden/sd15_shapes.py)
// and to the hand-derived names of docs/design.md.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "dagalign/models/unet_2d_condition.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

TEST(UNetSD15, ParameterCountNamesAndShapesMatchDiffusers) {
  const std::string dir = std::string(DAGALIGN_TEST_DATA) + "/unet/sd15";
  UNetConfig cfg = UNetConfig::from_file(dir + "/config.json");
  EXPECT_EQ(cfg.heads, (std::vector<int64_t>{8, 8, 8, 8}));  // legacy attention_head_dim = heads
  UNet2DConditionModel unet(cfg);
  std::map<std::string, std::vector<int64_t>> ours;
  int64_t count = 0;
  for (const auto& p : unet->named_parameters()) {
    ours[p.key()] = p.value().sizes().vec();
    count += p.value().numel();
  }
  EXPECT_EQ(count, 859520964);
  EXPECT_EQ(ours.size(), 686u);
  EXPECT_TRUE(unet->named_buffers().is_empty());

  auto ref = read_json_file(dir + "/shapes.json").get<std::map<std::string, std::vector<int64_t>>>();
  for (const auto& [k, s] : ref) {
    auto it = ours.find(k);
    if (it == ours.end()) {
      ADD_FAILURE() << "missing " << k;
      continue;
    }
    EXPECT_EQ(it->second, s) << k;
  }
  for (const auto& [k, s] : ours) EXPECT_TRUE(ref.count(k)) << "unexpected " << k;

  // spot checks written out from docs/design.md (independent of the diffusers list)
  using S = std::vector<int64_t>;
  EXPECT_EQ(ours.at("conv_in.weight"), (S{320, 4, 3, 3}));
  EXPECT_EQ(ours.at("time_embedding.linear_1.weight"), (S{1280, 320}));
  EXPECT_EQ(ours.at("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"), (S{320, 320}));
  EXPECT_EQ(ours.at("down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k.weight"), (S{640, 768}));
  EXPECT_EQ(ours.at("down_blocks.2.attentions.0.transformer_blocks.0.ff.net.0.proj.weight"), (S{10240, 1280}));
  EXPECT_EQ(ours.at("down_blocks.2.attentions.0.transformer_blocks.0.ff.net.2.weight"), (S{1280, 5120}));
  EXPECT_EQ(ours.at("down_blocks.0.attentions.0.proj_in.weight"), (S{320, 320, 1, 1}));
  EXPECT_EQ(ours.at("down_blocks.1.resnets.0.conv_shortcut.weight"), (S{640, 320, 1, 1}));
  EXPECT_EQ(ours.at("down_blocks.2.downsamplers.0.conv.weight"), (S{1280, 1280, 3, 3}));
  EXPECT_EQ(ours.at("up_blocks.1.resnets.2.conv1.weight"), (S{1280, 1920, 3, 3}));
  EXPECT_EQ(ours.at("up_blocks.3.resnets.0.conv1.weight"), (S{320, 960, 3, 3}));
  EXPECT_EQ(ours.at("mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0.bias"), (S{1280}));
  EXPECT_EQ(ours.at("conv_out.weight"), (S{4, 320, 3, 3}));
  EXPECT_FALSE(ours.count("down_blocks.3.downsamplers.0.conv.weight"));
  EXPECT_FALSE(ours.count("up_blocks.3.upsamplers.0.conv.weight"));
  EXPECT_FALSE(ours.count("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.bias"));
}

}  // namespace
}  // namespace dagalign
