// Diffusers folders written by the project's own writer: exact load, and failures naming file and key
// (deleted, renamed, reshaped, truncated); fp16 variant; shards; legacy names; optional prefix.
#include <cstring>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "dagalign/core/error.h"
#include "dagalign/weights/diffusers_folder.h"

using namespace dagalign;
namespace fs = std::filesystem;

namespace {

// A VAE-like fragment: decoder.conv_in + decoder.mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0}.
struct Attn : torch::nn::Module {
  Attn() {
    group_norm = register_module("group_norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(2, 8)));
    to_q = register_module("to_q", torch::nn::Linear(8, 8));
    to_k = register_module("to_k", torch::nn::Linear(8, 8));
    to_v = register_module("to_v", torch::nn::Linear(8, 8));
    to_out = register_module("to_out", torch::nn::ModuleList());
    to_out->push_back(torch::nn::Linear(8, 8));
  }
  torch::nn::GroupNorm group_norm{nullptr};
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};
};
struct Mid : torch::nn::Module {
  Mid() {
    attentions = register_module("attentions", torch::nn::ModuleList());
    attentions->push_back(std::make_shared<Attn>());
  }
  torch::nn::ModuleList attentions{nullptr};
};
struct Decoder : torch::nn::Module {
  Decoder() {
    conv_in = register_module("conv_in", torch::nn::Linear(4, 8));
    mid_block = register_module("mid_block", std::make_shared<Mid>());
  }
  torch::nn::Linear conv_in{nullptr};
  std::shared_ptr<Mid> mid_block;
};
struct Vae : torch::nn::Module {
  Vae() { decoder = register_module("decoder", std::make_shared<Decoder>()); }
  std::shared_ptr<Decoder> decoder;
};

// A text-encoder-like module: text_model.embeddings.token_embedding + text_model.final_layer_norm.
struct Inner : torch::nn::Module {
  Inner() {
    auto emb = std::make_shared<torch::nn::Module>();
    token = emb->register_parameter("weight", at::zeros({10, 4}));
    auto embeddings = std::make_shared<torch::nn::Module>();
    embeddings->register_module("token_embedding", emb);
    register_module("embeddings", embeddings);
    final_layer_norm = register_module("final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4})));
  }
  at::Tensor token;
  torch::nn::LayerNorm final_layer_norm{nullptr};
};
struct Text : torch::nn::Module {
  Text() { text_model = register_module("text_model", std::make_shared<Inner>()); }
  std::shared_ptr<Inner> text_model;
};

TensorMap random_state(const torch::nn::Module& m) {
  TensorMap out;
  for (const auto& [k, v] : state_dict(m)) out[k] = at::randn_like(v);
  return out;
}

struct DiffusersFolder : testing::Test {
  void SetUp() override {
    dir = testing::TempDir() + "/dagalign_df_" + std::to_string(::getpid()) + "_" +
          testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir);
    Vae vae;
    weights = random_state(vae);
    write_model_index(dir, {{"_class_name", "StableDiffusionPipeline"}, {"vae", {"diffusers", "AutoencoderKL"}}});
    write_component(dir, "vae", {{"_class_name", "AutoencoderKL"}, {"latent_channels", 4}, {"scaling_factor", 0.18215}},
                    weights);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string file() const { return dir + "/vae/diffusion_pytorch_model.safetensors"; }
  // The error message of load_component(Vae) (empty when it loads).
  std::string load_error(const ComponentLoadOptions& o = {}) {
    Vae vae;
    try {
      load_component(vae, dir, "vae", o);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::string dir;
  TensorMap weights;
};

}  // namespace

TEST_F(DiffusersFolder, ConfigsRoundTrip) {
  const auto index = read_model_index(dir);
  EXPECT_EQ(index["vae"][1], "AutoencoderKL");
  const auto cfg = read_component_config(dir, "vae");
  const std::string path = dir + "/vae/config.json";
  EXPECT_EQ(config_value<int>(cfg, "latent_channels", path), 4);
  EXPECT_DOUBLE_EQ(config_value<double>(cfg, "scaling_factor", path), 0.18215);
  EXPECT_EQ(config_value<int>(cfg, "layers_per_block", path, 2), 2);
  try {
    config_value<int>(cfg, "layers_per_block", path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'layers_per_block'"), std::string::npos);
  }
  EXPECT_THROW(config_value<std::string>(cfg, "latent_channels", path), ConfigError);
  EXPECT_THROW(read_component_config(dir, "unet"), Error);
}

TEST_F(DiffusersFolder, LoadsWithZeroMissingOrUnexpected) {
  Vae vae;
  const auto report = load_component(vae, dir, "vae");
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(report.mismatched.empty());
  for (const auto& [k, v] : state_dict(vae)) EXPECT_TRUE(at::equal(v, weights.at(k))) << k;
  EXPECT_EQ(component_weight_files(dir, "vae"), std::vector<std::string>{file()});
}

TEST_F(DiffusersFolder, DeletedTensorNamesFileAndKey) {
  weights.erase("decoder.mid_block.attentions.0.to_v.bias");
  write_safetensors(file(), weights);
  const auto msg = load_error();
  EXPECT_NE(msg.find(file()), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing: decoder.mid_block.attentions.0.to_v.bias"), std::string::npos) << msg;
}

TEST_F(DiffusersFolder, RenamedTensorNamesFileAndBothKeys) {
  weights["decoder.conv_input.weight"] = weights.at("decoder.conv_in.weight");
  weights.erase("decoder.conv_in.weight");
  write_safetensors(file(), weights);
  const auto msg = load_error();
  EXPECT_NE(msg.find(file()), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing: decoder.conv_in.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected: decoder.conv_input.weight"), std::string::npos) << msg;
}

TEST_F(DiffusersFolder, ReshapedTensorNamesFileKeyAndShapes) {
  weights["decoder.mid_block.attentions.0.to_out.0.weight"] = at::randn({8, 1});  // broadcastable
  write_safetensors(file(), weights);
  const auto msg = load_error();
  EXPECT_NE(msg.find(file()), std::string::npos) << msg;
  EXPECT_NE(msg.find("decoder.mid_block.attentions.0.to_out.0.weight: expected [8, 8], found [8, 1]"),
            std::string::npos)
      << msg;
}

TEST_F(DiffusersFolder, TruncatedFileNamesFileAndKey) {
  const auto size = fs::file_size(file());
  fs::resize_file(file(), size - 3);
  const auto msg = load_error();
  EXPECT_NE(msg.find(file()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'decoder."), std::string::npos) << msg;  // the tensor whose data is cut
}

TEST_F(DiffusersFolder, Fp16VariantLoadsIntoFloatModule) {
  TensorMap half;
  for (const auto& [k, v] : weights) half[k] = v.to(at::kHalf);
  fs::remove(file());
  write_component(dir, "vae", read_component_config(dir, "vae"), half, default_weights_name("vae", "fp16"));
  EXPECT_TRUE(fs::exists(dir + "/vae/diffusion_pytorch_model.fp16.safetensors"));
  EXPECT_NE(load_error().find("no safetensors weights for component 'vae'"), std::string::npos);
  Vae vae;
  ComponentLoadOptions fp16;
  fp16.variant = "fp16";
  EXPECT_TRUE(load_component(vae, dir, "vae", fp16).ok());
  EXPECT_EQ(vae.decoder->conv_in->weight.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(vae.decoder->conv_in->weight, half.at("decoder.conv_in.weight").to(at::kFloat)));
}

TEST_F(DiffusersFolder, ShardedWeights) {
  fs::remove(file());
  TensorMap a, b;
  nlohmann::json map;
  for (const auto& [k, v] : weights) {
    const bool first = k.find("to_") == std::string::npos;
    (first ? a : b)[k] = v;
    map[k] = first ? "diffusion_pytorch_model-00001-of-00002.safetensors"
                   : "diffusion_pytorch_model-00002-of-00002.safetensors";
  }
  write_safetensors(dir + "/vae/diffusion_pytorch_model-00001-of-00002.safetensors", a);
  write_safetensors(dir + "/vae/diffusion_pytorch_model-00002-of-00002.safetensors", b);
  const auto index = dir + "/vae/diffusion_pytorch_model.safetensors.index.json";
  write_json_file(index, {{"metadata", {{"total_size", 0}}}, {"weight_map", map}});
  EXPECT_EQ(component_weight_files(dir, "vae").size(), 2u);
  Vae vae;
  EXPECT_TRUE(load_component(vae, dir, "vae").ok());
  EXPECT_TRUE(at::equal(vae.decoder->mid_block->attentions->ptr<Attn>(0)->to_k->weight,
                        weights.at("decoder.mid_block.attentions.0.to_k.weight")));
  // The index names a tensor that its shard lacks.
  map["decoder.extra.weight"] = "diffusion_pytorch_model-00002-of-00002.safetensors";
  write_json_file(index, {{"weight_map", map}});
  auto msg = load_error();
  EXPECT_NE(msg.find(index), std::string::npos) << msg;
  EXPECT_NE(msg.find("'decoder.extra.weight'"), std::string::npos) << msg;
}

TEST_F(DiffusersFolder, LegacyAttentionNamesAreRenamed) {
  TensorMap legacy;
  for (const auto& [k, v] : weights) {
    std::string name = k;
    for (auto [from, to] : {std::pair{"to_q", "query"}, {"to_k", "key"}, {"to_v", "value"}, {"to_out.0", "proj_attn"}}) {
      const auto pos = name.find(std::string(".") + from + ".");
      if (pos != std::string::npos) name = name.substr(0, pos + 1) + to + name.substr(pos + 1 + std::strlen(from));
    }
    legacy[name] = v;
  }
  ASSERT_TRUE(legacy.count("decoder.mid_block.attentions.0.proj_attn.weight"));
  ASSERT_TRUE(legacy.count("decoder.mid_block.attentions.0.query.bias"));
  write_safetensors(file(), legacy);
  Vae vae;
  EXPECT_TRUE(load_component(vae, dir, "vae").ok());
  auto* attn = vae.decoder->mid_block->attentions->ptr<Attn>(0).get();
  EXPECT_TRUE(at::equal(attn->to_out->ptr<torch::nn::LinearImpl>(0)->weight,
                        weights.at("decoder.mid_block.attentions.0.to_out.0.weight")));
  EXPECT_TRUE(at::equal(attn->to_q->bias, weights.at("decoder.mid_block.attentions.0.to_q.bias")));
  // Both spellings of one tensor: an error naming the file and the key.
  legacy["decoder.mid_block.attentions.0.to_q.bias"] = weights.at("decoder.mid_block.attentions.0.to_q.bias");
  write_safetensors(file(), legacy);
  const auto msg = load_error();
  EXPECT_NE(msg.find(file()), std::string::npos) << msg;
  EXPECT_NE(msg.find("'decoder.mid_block.attentions.0.query.bias'"), std::string::npos) << msg;
}

TEST_F(DiffusersFolder, OptionalPrefixAndIgnoredPositionIds) {
  Text text;
  TensorMap w;  // a file without the "text_model." prefix, with the legacy position_ids buffer
  for (const auto& [k, v] : random_state(text)) w[k.substr(std::strlen("text_model."))] = v;
  w["embeddings.position_ids"] = at::arange(77).unsqueeze(0);
  write_component(dir, "text_encoder", {{"_class_name", "CLIPTextModel"}}, w);
  EXPECT_TRUE(fs::exists(dir + "/text_encoder/model.safetensors"));
  ComponentLoadOptions o;
  o.optional_prefix = "text_model.";
  o.ignore = {"text_model.embeddings.position_ids"};
  EXPECT_TRUE(load_component(text, dir, "text_encoder", o).ok());
  EXPECT_TRUE(at::equal(text.text_model->token, w.at("embeddings.token_embedding.weight")));
  // Without ignoring it, position_ids is an unexpected key named with the file.
  Text again;
  try {
    ComponentLoadOptions no_ignore;
    no_ignore.optional_prefix = "text_model.";
    load_component(again, dir, "text_encoder", no_ignore);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected: text_model.embeddings.position_ids"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(dir + "/text_encoder/model.safetensors"), std::string::npos);
  }
}

TEST_F(DiffusersFolder, MissingWeightsListNamesTried) {
  fs::remove(file());
  std::ofstream(dir + "/vae/diffusion_pytorch_model.bin") << "pickle";
  const auto msg = load_error();
  EXPECT_NE(msg.find(dir + "/vae/diffusion_pytorch_model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("diffusion_pytorch_model.bin"), std::string::npos) << msg;
}
