// The full SD 1.5 VAE from its config.json (diffusers 0.6.0 file: no scaling_factor key -> 0.18215):
// exact parameter count, names/shapes equal to diffusers' (tests/data/vae/sd15/shapes.json).
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "dagalign/models/autoencoder_kl.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

TEST(VAESD15, ParameterCountNamesAndShapesMatchDiffusers) {
  const std::string dir = std::string(DAGALIGN_TEST_DATA) + "/vae/sd15";
  VAEConfig cfg = VAEConfig::from_file(dir + "/config.json");
  EXPECT_DOUBLE_EQ(cfg.scaling_factor, 0.18215);
  AutoencoderKL vae(cfg);
  std::map<std::string, std::vector<int64_t>> ours;
  int64_t count = 0;
  for (const auto& p : vae->named_parameters()) {
    ours[p.key()] = p.value().sizes().vec();
    count += p.value().numel();
  }
  EXPECT_EQ(count, 83653863);
  EXPECT_EQ(ours.size(), 248u);
  auto ref = read_json_file(dir + "/shapes.json").get<std::map<std::string, std::vector<int64_t>>>();
  EXPECT_EQ(ours, ref);
  using S = std::vector<int64_t>;
  EXPECT_EQ(ours.at("encoder.conv_out.weight"), (S{8, 512, 3, 3}));
  EXPECT_EQ(ours.at("quant_conv.weight"), (S{8, 8, 1, 1}));
  EXPECT_EQ(ours.at("decoder.up_blocks.3.resnets.2.conv2.weight"), (S{128, 128, 3, 3}));
  EXPECT_EQ(ours.at("decoder.mid_block.attentions.0.to_q.bias"), (S{512}));
  EXPECT_EQ(ours.at("encoder.mid_block.attentions.0.group_norm.weight"), (S{512}));
  EXPECT_FALSE(ours.count("encoder.down_blocks.3.downsamplers.0.conv.weight"));
}

}  // namespace
}  // namespace dagalign
