// LoRA: the layer equation, init, freezing, export/import round trip (alpha != rank), the older
// diffusers processor key names, merging, and errors naming file and key.
#include <gtest/gtest.h>

#include <filesystem>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/models/lora.h"
#include "dagalign/models/lora_linear.h"
#include "dagalign/models/unet_2d_condition.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

namespace fs = std::filesystem;
const std::string kData = DAGALIGN_TEST_DATA;

std::string tmp(const std::string& name) {
  return (fs::temp_directory_path() / ("dagalign_lora_" + std::to_string(::getpid()) + "_" + name)).string();
}

UNet2DConditionModel tiny_unet() {
  UNet2DConditionModel unet(UNetConfig::from_file(kData + "/unet/tiny_linear/config.json"));
  load_component(*unet, kData + "/unet", "tiny_linear");
  return unet;
}

TEST(LoraLinear, ForwardIsBaseplusScaledLowRankProduct) {
  LoraLinear l(6, 5);
  l->add_adapter(3, 6.0, make_generator(1));
  EXPECT_DOUBLE_EQ(l->scale(), 2.0);
  at::NoGradGuard ng;
  auto x = at::randn({4, 6}, make_generator(2));
  // B = 0 at init: output unchanged
  EXPECT_TRUE(at::allclose(l(x), x.matmul(l->weight.t()) + l->bias));
  l->lora_B->weight.normal_(0, 1, make_generator(3));
  // y = x W^T + b + (alpha/r) x A^T B^T
  auto expect = x.matmul(l->weight.t()) + l->bias + 2.0 * x.matmul(l->lora_A->weight.t()).matmul(l->lora_B->weight.t());
  EXPECT_LE((l(x) - expect).abs().max().item<double>(), 1e-5);
  // A ~ N(0, (1/r)^2): std 1/3 over 18 entries of a larger layer
  LoraLinear big(400, 10);
  big->add_adapter(4, 4.0, make_generator(4));
  EXPECT_NEAR(big->lora_A->weight.std().item<double>(), 0.25, 0.01);
  EXPECT_EQ(big->lora_B->weight.abs().sum().item<double>(), 0.0);
  // merge: W' = W + (alpha/r) B A gives the same function without the adapter
  auto before = l(x);
  l->merge_adapter();
  EXPECT_FALSE(l->has_adapter());
  EXPECT_EQ(l->named_parameters().size(), 2u);
  EXPECT_LE((l(x) - before).abs().max().item<double>(), 1e-5);
}

TEST(Lora, TargetsFreezingAndNames) {
  auto unet = tiny_unet();
  LoraConfig cfg;
  cfg.rank = 2;
  cfg.alpha = 2;
  auto layers = apply_lora(*unet, cfg, make_generator(5));
  // tiny_linear: 2 down + 4 up + 1 mid transformer blocks, attn1 + attn2, 4 targets each
  EXPECT_EQ(layers.size(), 7u * 2 * 4);
  for (const auto& p : unet->named_parameters()) {
    const bool is_lora = p.key().find(".lora_A.") != std::string::npos || p.key().find(".lora_B.") != std::string::npos;
    EXPECT_EQ(p.value().requires_grad(), is_lora) << p.key();
  }
  auto params = unet->named_parameters();
  EXPECT_TRUE(params.contains("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.lora_A.weight"));
  EXPECT_TRUE(params.contains("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight"));
  EXPECT_EQ(lora_parameters(*unet).size(), layers.size() * 2);
  LoraConfig bad = cfg;
  bad.targets = {"to_qq"};
  auto fresh = tiny_unet();
  try {
    apply_lora(*fresh, bad, make_generator(5));
    ADD_FAILURE() << "unknown target accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("to_qq"), std::string::npos);
  }
}

TEST(Lora, ExportImportRoundTripKeepsTheFunction) {
  auto unet = tiny_unet();
  LoraConfig cfg;
  cfg.rank = 3;
  cfg.alpha = 12;  // scale 4: exported B is scaled, import must undo it
  cfg.targets = {"to_q", "to_v", "ff.net.2"};
  apply_lora(*unet, cfg, make_generator(6));
  {
    at::NoGradGuard ng;
    for (auto& p : lora_parameters(*unet)) p.normal_(0, 0.1, make_generator(7));
  }
  const std::string f = tmp("rt.safetensors");
  save_lora(f, *unet);
  Metadata meta;
  TensorMap file = read_safetensors(f, &meta);
  EXPECT_EQ(meta.at("dagalign.lora_alpha"), "12");
  const std::string k = "unet.up_blocks.2.attentions.1.transformer_blocks.0.ff.net.2.lora_B.weight";
  ASSERT_TRUE(file.count(k));
  auto params = unet->named_parameters();
  EXPECT_TRUE(at::allclose(file.at(k), params["up_blocks.2.attentions.1.transformer_blocks.0.ff.net.2.lora_B.weight"] * 4.0));

  auto x = at::randn({1, 4, 10, 12}, make_generator(8));
  auto ctx = at::randn({1, 5, 24}, make_generator(9));
  auto t = at::full({1}, 500, at::kLong);
  at::NoGradGuard ng;
  auto y = unet(x, t, ctx);
  auto other = tiny_unet();
  EXPECT_EQ(load_lora(f, *other), 7u * (2 * 2 + 1));  // 7 transformer blocks: to_q, to_v of 2 attentions + ff
  auto other_layers = lora_layers(*other);
  EXPECT_EQ(other_layers, lora_layers(*unet));
  EXPECT_LE((other(x, t, ctx) - y).abs().max().item<double>(), 1e-5);
  // merged into the base: same function, no adapter parameters
  merge_lora(*other);
  EXPECT_TRUE(lora_layers(*other).empty());
  EXPECT_LE((other(x, t, ctx) - y).abs().max().item<double>(), 1e-4);
  fs::remove(f);
}

TEST(Lora, ReadsOlderProcessorNamesAndRejectsBadFiles) {
  auto unet = tiny_unet();
  const std::string p = "down_blocks.1.attentions.0.transformer_blocks.0.attn1";
  TensorMap old{{"unet." + p + ".processor.to_out_lora.down.weight", at::ones({2, 32})},
                {"unet." + p + ".processor.to_out_lora.up.weight", at::ones({32, 2})},
                {"text_encoder.whatever.lora_A.weight", at::ones({2, 2})}};
  const std::string f = tmp("old.safetensors");
  write_safetensors(f, old);
  EXPECT_EQ(load_lora(f, *unet), 1u);
  EXPECT_EQ(lora_layers(*unet), std::vector<std::string>{p + ".to_out.0"});
  auto l = unet->named_parameters();
  EXPECT_TRUE(l.contains(p + ".to_out.0.lora_A.weight"));

  auto expect_error = [&](const TensorMap& t, const std::string& needle) {
    write_safetensors(f, t);
    auto fresh = tiny_unet();
    try {
      load_lora(f, *fresh);
      ADD_FAILURE() << "accepted a file with " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
  };
  expect_error({{"unet." + p + ".to_q.lora_A.weight", at::ones({2, 32})}}, p + ".to_q");           // A without B
  expect_error({{"unet." + p + ".to_z.lora_A.weight", at::ones({2, 32})},
                {"unet." + p + ".to_z.lora_B.weight", at::ones({32, 2})}}, "to_z");                 // no such layer
  expect_error({{"unet." + p + ".to_q.lora_A.weight", at::ones({2, 31})},
                {"unet." + p + ".to_q.lora_B.weight", at::ones({32, 2})}}, p + ".to_q");           // wrong shape
  fs::remove(f);
}

}  // namespace
}  // namespace dagalign
