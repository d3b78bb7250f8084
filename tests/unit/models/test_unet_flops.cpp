// The UNet FLOP counter against torch.utils.flop_counter.FlopCounterMode on diffusers' model
// (tests/data/unet/flops.json, tools/golden/unet_flops.py): tiny configs and SD 1.5 at 64x64 latents,
// whole model and per block; backward = 2x forward.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dagalign/models/unet_flops.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

TEST(UNetFlops, MatchTorchFlopCounterOnDiffusersModels) {
  const std::string data = std::string(DAGALIGN_TEST_DATA) + "/unet";
  nlohmann::json ref = read_json_file(data + "/flops.json");
  ASSERT_EQ(ref.size(), 3u);
  for (const auto& [name, r] : ref.items()) {
    UNetConfig cfg = UNetConfig::from_file(data + "/" + name + "/config.json");
    UNetFlops f = count_unet_flops(cfg, r["batch"], r["height"], r["width"], r["ctx_len"]);
    EXPECT_DOUBLE_EQ(f.forward, r["forward"].get<double>()) << name;
    size_t modules = 0;
    for (const auto& [key, v] : r.items()) {
      if (key == "batch" || key == "height" || key == "width" || key == "ctx_len" || key == "forward" ||
          key == "backward")
        continue;
      ASSERT_TRUE(f.modules.count(key)) << name << " " << key;
      EXPECT_DOUBLE_EQ(f.modules.at(key), v.get<double>()) << name << " " << key;
      ++modules;
    }
    EXPECT_EQ(modules, f.modules.size()) << name;
    // backward with every weight and the inputs requiring grad: 2x forward, less the input gradient of
    // time_embedding.linear_1 (its input, the sinusoidal embedding, needs none): 2 B C0 (4 C0)
    const double c0 = double(cfg.block_out_channels[0]);
    EXPECT_DOUBLE_EQ(2 * f.forward - 2.0 * r["batch"].get<double>() * c0 * 4 * c0, r["backward"].get<double>()) << name;
  }
}

}  // namespace
}  // namespace dagalign
