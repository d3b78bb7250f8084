// CLIP text encoder vs transformers' CLIPTextModel (tests/data/clip, tools/golden/clip_models.py), the SD 1.5
// parameter count, naming, config parsing and the causal mask.
#include <cstdio>
#include <filesystem>
#include <set>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/models/clip_text_model.h"
#include "dagalign/weights/diffusers_folder.h"
#include "dagalign/weights/safetensors.h"
#include "dagalign/weights/state_dict.h"

using namespace dagalign;

namespace {
const std::string kData = std::string(DAGALIGN_TEST_DATA) + "/clip";

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}
}  // namespace

TEST(ClipTextModel, MatchesTransformersOnTinyConfig) {
  // The folder was written by transformers 5 save_pretrained: keys without the "text_model." prefix.
  auto model = load_clip_text_model(kData + "/tiny_sd");
  EXPECT_EQ(model->text_model->config.num_hidden_layers, 3);
  EXPECT_EQ(model->text_model->config.hidden_act, "quick_gelu");
  const auto g = read_safetensors(kData + "/text_golden.safetensors");
  const auto ids = g.at("input_ids");
  at::NoGradGuard no_grad;
  const auto out = model->forward(ids, /*output_hidden_states=*/true);
  ASSERT_EQ(out.hidden_states.size(), 4u);  // embeddings + 3 layers
  const double d_last = max_abs(out.last_hidden_state, g.at("last_hidden_state"));
  const double d_pool = max_abs(out.pooler_output, g.at("pooler_output"));
  const double d_h1 = max_abs(out.hidden_states[1], g.at("hidden_state_1"));
  const double d_skip = max_abs(model->encode(ids, 1), g.at("clip_skip_1"));
  std::printf("max |dagalign - transformers|: last_hidden_state %.2e, pooler %.2e, layer-1 %.2e, clip_skip=1 %.2e\n",
              d_last, d_pool, d_h1, d_skip);
  EXPECT_LE(d_last, 1e-4);
  EXPECT_LE(d_pool, 1e-4);
  EXPECT_LE(d_h1, 1e-4);
  EXPECT_LE(d_skip, 1e-4);
  EXPECT_TRUE(at::equal(model->encode(ids, 0), out.last_hidden_state));
  // The outputs are not trivially equal across positions (the check above could not pass by accident).
  EXPECT_GT(g.at("last_hidden_state").std().item<double>(), 0.1);
}

TEST(ClipTextModel, ParameterNamesAreTheFileKeysWithPrefix) {
  auto model = load_clip_text_model(kData + "/tiny_sd");
  const auto file = read_safetensors(kData + "/tiny_sd/text_encoder/model.safetensors");
  std::set<std::string> expected;
  for (const auto& [k, t] : file)
    if (k != "embeddings.position_ids") expected.insert("text_model." + k);
  std::set<std::string> names;
  for (const auto& [k, t] : state_dict(*model)) names.insert(k);
  EXPECT_EQ(names, expected);
}

TEST(ClipTextModel, CausalMaskHidesLaterTokens) {
  ClipTextConfig c;
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.max_position_embeddings = 10;
  ClipTextModel model(c);
  model->eval();
  at::NoGradGuard no_grad;
  auto a = at::randint(0, 50, {1, 10}, at::kLong);
  auto b = a.clone();
  b.index_put_({0, 7}, (a[0][7] + 1) % 50);
  const auto ha = model->forward(a).last_hidden_state, hb = model->forward(b).last_hidden_state;
  EXPECT_TRUE(at::allclose(ha.slice(1, 0, 7), hb.slice(1, 0, 7), 0, 1e-6));  // positions < 7 unchanged
  EXPECT_GT((ha.slice(1, 7) - hb.slice(1, 7)).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(model->forward(at::full({1, 3}, 50, at::kLong)), Error);  // id out of vocabulary
  EXPECT_THROW(model->forward(at::zeros({1, 11}, at::kLong)), Error);     // longer than max positions
}

TEST(ClipTextModel, Sd15ConfigHasReferenceParameterCount) {
  // text_encoder/config.json of SD 1.5 (docs/design.md).
  const auto j = nlohmann::json::parse(R"({"_name_or_path": "openai/clip-vit-large-patch14",
    "architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
    "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0,
    "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-05,
    "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 12,
    "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768, "torch_dtype": "float32",
    "transformers_version": "4.22.0.dev0", "vocab_size": 49408})");
  const auto c = ClipTextConfig::from_json(j, "sd15/text_encoder/config.json");
  const auto ref = ClipTextConfig::sd15();
  EXPECT_EQ(c.hidden_size, ref.hidden_size);
  EXPECT_EQ(c.num_hidden_layers, ref.num_hidden_layers);
  EXPECT_EQ(c.eos_token_id, 2);
  ClipTextModel model(c);
  int64_t total = 0, tensors = 0;
  for (const auto& p : model->parameters()) total += p.numel(), ++tensors;
  EXPECT_EQ(total, 123060480);
  EXPECT_EQ(tensors, 196);
  const auto sd = state_dict(*model);
  EXPECT_EQ(sd.at("text_model.embeddings.token_embedding.weight").sizes(), at::IntArrayRef({49408, 768}));
  EXPECT_EQ(sd.at("text_model.embeddings.position_embedding.weight").sizes(), at::IntArrayRef({77, 768}));
  EXPECT_EQ(sd.at("text_model.encoder.layers.11.mlp.fc1.weight").sizes(), at::IntArrayRef({3072, 768}));
  EXPECT_EQ(sd.at("text_model.encoder.layers.11.mlp.fc2.weight").sizes(), at::IntArrayRef({768, 3072}));
  EXPECT_EQ(sd.at("text_model.encoder.layers.0.self_attn.out_proj.bias").sizes(), at::IntArrayRef({768}));
  EXPECT_EQ(sd.at("text_model.final_layer_norm.weight").sizes(), at::IntArrayRef({768}));
}

TEST(ClipTextModel, ConfigErrorsNameFileAndKey) {
  try {
    ClipTextConfig::from_json(nlohmann::json::parse(R"({"hidden_act": "relu6"})"), "/m/text_encoder/config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/m/text_encoder/config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("relu6"), std::string::npos) << e.what();
  }
  try {
    ClipTextConfig::from_json(nlohmann::json::parse(R"({"hidden_size": "big"})"), "/m/config.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'hidden_size'"), std::string::npos) << e.what();
  }
}

TEST(ClipTextModel, OwnWriterFolderLoadsStrictlyAndNamesBadKeys) {
  namespace fs = std::filesystem;
  const std::string dir = testing::TempDir() + "/dagalign_clip_text_folder_" + std::to_string(::getpid());
  fs::remove_all(dir);
  const auto config = read_json_file(kData + "/tiny_sd/text_encoder/config.json");
  ClipTextModel src(ClipTextConfig::from_json(config, "config.json"));
  auto weights = state_dict(*src);
  weights["text_model.embeddings.position_ids"] = at::arange(77).unsqueeze(0);  // older files carry it
  write_model_index(dir, {{"_class_name", "StableDiffusionPipeline"}, {"text_encoder", {"transformers", "CLIPTextModel"}}});
  write_component(dir, "text_encoder", config, weights);
  auto loaded = load_clip_text_model(dir);
  for (const auto& [k, v] : state_dict(*loaded)) EXPECT_TRUE(at::equal(v, weights.at(k))) << k;
  const std::string file = dir + "/text_encoder/model.safetensors";
  const auto error_of = [&](TensorMap w) {
    write_safetensors(file, w);
    try {
      load_clip_text_model(dir);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto w = weights;
  w.erase("text_model.encoder.layers.2.mlp.fc2.bias");
  auto msg = error_of(w);
  EXPECT_NE(msg.find(file), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing: text_model.encoder.layers.2.mlp.fc2.bias"), std::string::npos) << msg;
  w = weights;
  w["text_model.final_layer_norm.weight"] = at::ones({1});
  msg = error_of(w);
  EXPECT_NE(msg.find("text_model.final_layer_norm.weight: expected [32], found [1]"), std::string::npos) << msg;
  fs::remove_all(dir);
}
