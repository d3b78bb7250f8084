// The generic strict loader over named_parameters() + named_buffers().
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "dagalign/core/error.h"
#include "dagalign/weights/state_dict.h"

using namespace dagalign;

namespace {

// names: proj.weight [3,4], proj.bias [3], blocks.0.weight [2,3], blocks.1.weight [2,2], blocks.1.bias,
// scale (buffer, [1,3])
struct Tiny : torch::nn::Module {
  Tiny() {
    proj = register_module("proj", torch::nn::Linear(4, 3));
    blocks = register_module("blocks", torch::nn::ModuleList());
    blocks->push_back(torch::nn::Linear(torch::nn::LinearOptions(3, 2).bias(false)));
    blocks->push_back(torch::nn::Linear(2, 2));
    scale = register_buffer("scale", at::ones({1, 3}));
  }
  torch::nn::Linear proj{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  at::Tensor scale;
};

TensorMap full_map() {
  return {{"proj.weight", at::randn({3, 4})},  {"proj.bias", at::randn({3})},
          {"blocks.0.weight", at::randn({2, 3})}, {"blocks.1.weight", at::randn({2, 2})},
          {"blocks.1.bias", at::randn({2})},    {"scale", at::randn({1, 3})}};
}

std::string load_error(Tiny& m, const TensorMap& t, const std::vector<std::string>& ignore = {}) {
  try {
    load_state_dict(m, t, "/models/tiny.safetensors", true, ignore);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(StateDict, NamesAreModulePaths) {
  Tiny m;
  const auto sd = state_dict(m);
  std::vector<std::string> names;
  for (const auto& [k, v] : sd) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"blocks.0.weight", "blocks.1.bias", "blocks.1.weight",
                                             "proj.bias", "proj.weight", "scale"}));
}

TEST(StateDict, LoadsExactlyAndConvertsDtype) {
  Tiny m;
  auto t = full_map();
  t["proj.weight"] = t["proj.weight"].to(at::kHalf);  // F16 file into a float32 module
  const auto report = load_state_dict(m, t, "tiny");
  EXPECT_TRUE(report.ok());
  EXPECT_TRUE(at::equal(m.proj->weight, t["proj.weight"].to(at::kFloat)));
  EXPECT_EQ(m.proj->weight.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(m.blocks->ptr<torch::nn::LinearImpl>(1)->bias, t["blocks.1.bias"]));
  EXPECT_TRUE(at::equal(m.scale, t["scale"]));
  EXPECT_TRUE(m.proj->weight.requires_grad());  // loading does not change trainability
}

TEST(StateDict, MissingKeyNamesFileAndKey) {
  Tiny m;
  auto t = full_map();
  t.erase("blocks.1.bias");
  const auto msg = load_error(m, t);
  EXPECT_NE(msg.find("/models/tiny.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing: blocks.1.bias"), std::string::npos) << msg;
}

TEST(StateDict, UnexpectedKeyNamesFileAndKey) {
  Tiny m;
  auto t = full_map();
  t["blocks.2.weight"] = at::zeros({2});
  const auto msg = load_error(m, t);
  EXPECT_NE(msg.find("/models/tiny.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected: blocks.2.weight"), std::string::npos) << msg;
}

TEST(StateDict, BroadcastableShapeIsStillAMismatch) {
  Tiny m;
  auto t = full_map();
  t["scale"] = at::randn({3});           // copy_ would broadcast [3] into [1,3]
  t["proj.bias"] = at::randn({1});       // and [1] into [3]
  const auto before = m.proj->bias.clone();
  const auto msg = load_error(m, t);
  EXPECT_NE(msg.find("/models/tiny.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("scale: expected [1, 3], found [3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("proj.bias: expected [3], found [1]"), std::string::npos) << msg;
  EXPECT_TRUE(at::equal(m.proj->bias, before));  // strict failure leaves the module untouched
}

TEST(StateDict, IgnoredKeysAndNonStrictReport) {
  Tiny m;
  auto t = full_map();
  t["text_model.embeddings.position_ids"] = at::arange(77).unsqueeze(0);
  EXPECT_TRUE(load_state_dict(m, t, "tiny", true, {"text_model.embeddings.position_ids"}).ok());
  t.erase("proj.weight");
  t["extra"] = at::zeros({1});
  t["scale"] = at::zeros({2, 2});
  const auto r = load_state_dict(m, t, "tiny", false);
  EXPECT_EQ(r.missing, std::vector<std::string>{"proj.weight"});
  EXPECT_EQ(r.unexpected, (std::vector<std::string>{"extra", "text_model.embeddings.position_ids"}));
  ASSERT_EQ(r.mismatched.size(), 1u);
  EXPECT_EQ(r.mismatched[0], "scale: expected [1, 3], found [2, 2]");
  EXPECT_TRUE(at::equal(m.blocks->ptr<torch::nn::LinearImpl>(0)->weight, t["blocks.0.weight"]));
}
