#include "dagalign/train/diffusers_world.h"

#include <filesystem>
#include <map>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/timer.h"
#include "dagalign/models/conditional_flow.h"
#include "dagalign/models/lora.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/models/unet_eps_model.h"
#include "dagalign/shapes/prompt_sets.h"

namespace fs = std::filesystem;

namespace dagalign {

void DiffusersWorldConfig::add_to(Config& c) {
  c.add("model.variant", &variant, "diffusers folder: weights variant ('' or e.g. fp16)")
      .add("model.lora_rank", &lora_rank, "diffusers folder: LoRA rank r of the policy UNet", positive())
      .add("model.lora_alpha", &lora_alpha, "diffusers folder: LoRA alpha (the update is scaled by alpha / r)", positive())
      .add("model.lora_targets", &lora_targets, "diffusers folder: UNet layers that get LoRA")
      .add("model.prompts", &prompts, "diffusers folder: training prompts, a tiny-world set (all, basic, train, heldout) or a text file "
           "with one prompt per line")
      .add("model.gradient_checkpointing", &gradient_checkpointing, "diffusers folder: recompute UNet blocks in backward (memory for compute)")
      .add("flow.channels", &flow_channels, "flow network (ConditionalFlow): channels per down block (every block downsamples)",
           positive())
      .add("flow.heads", &flow_heads, "flow network: attention heads", positive())
      .add("flow.groups", &flow_groups, "flow network: GroupNorm groups", positive())
      .add("flow.layers_per_block", &flow_layers_per_block, "flow network: resnets per block", positive())
      .add("flow.block_types", &flow_block_types, "flow network: unet (the policy UNet's down_block_types), dag (cross-attention on all blocks but the "
           "last), or a comma list of CrossAttnDownBlock2D / DownBlock2D")
      .add("flow.state_input", &flow_state_input, "flow network: reads the state x_t (true, as DAG) or only the timestep and prompt (false)")
      .add("reward.name", &reward, reward_names(), "diffusers folder: reward");
  reward_options.add_to(c);
}

bool is_diffusers_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "model_index.json", ec);
}

std::vector<std::string> load_prompt_list(const std::string& spec) {
  return shapes::load_prompts(spec, "model.prompts");
}

std::vector<bool> flow_cross_attention(const std::string& spec, size_t blocks,
                                       const std::vector<std::string>& unet_down_block_types) {
  std::vector<std::string> types;
  if (spec == "dag") {
    for (size_t i = 0; i < blocks; ++i) types.push_back(i + 1 < blocks ? "CrossAttnDownBlock2D" : "DownBlock2D");
  } else if (spec == "unet") {
    if (unet_down_block_types.size() != blocks)
      throw ConfigError(cat("flow.block_types = unet: the UNet has ", unet_down_block_types.size(),
                            " down blocks but flow.channels names ", blocks, " (set flow.block_types to dag or a list)"));
    types = unet_down_block_types;
  } else {
    types = split_list(spec);
    if (types.size() != blocks)
      throw ConfigError(cat("flow.block_types: ", types.size(), " types for ", blocks, " blocks of flow.channels"));
  }
  std::vector<bool> out;
  for (const auto& t : types) {
    if (t != "CrossAttnDownBlock2D" && t != "DownBlock2D")
      throw ConfigError(cat("flow.block_types: '", t, "' is not CrossAttnDownBlock2D or DownBlock2D"));
    out.push_back(t == "CrossAttnDownBlock2D");
  }
  return out;
}

size_t prompt_index(uint64_t prompt_seed, size_t n) {
  DAG_CHECK(n > 0, "prompt_index: empty prompt list");
  // splitmix64 output is uniform on 64 bits; the modulo bias is below n / 2^64.
  return static_cast<size_t>(splitmix64(prompt_seed) % n);
}

namespace {

NamedTensors trainable(const std::string& prefix, const torch::nn::Module& m) {
  NamedTensors out;
  for (const auto& p : m.named_parameters())
    if (p.value().requires_grad()) out.push_back({prefix + p.key(), p.value()});
  return out;
}

class DiffusersWorld : public World {
 public:
  DiffusersWorld(const DiffusersWorldConfig& cfg, const std::string& folder, uint64_t seed)
      : cfg_(cfg), folder_(folder), prompts_(load_prompt_list(cfg.prompts)),
        reward_(make_reward(cfg.reward, cfg.reward_options)), pipe_(load(folder, cfg.variant)), policy_(pipe_.unet, pipe_.schedule),
        seed_(seed) {
    for (auto& p : pipe_.text_encoder->parameters()) p.set_requires_grad(false);
    LoraConfig lc;
    lc.rank = cfg.lora_rank;
    lc.alpha = cfg.lora_alpha;
    lc.targets = cfg.lora_targets;
    const auto layers = apply_lora(*pipe_.unet, lc, make_generator(stream_seed(seed, Purpose::kInit, 1)));
    pipe_.unet->set_gradient_checkpointing(cfg.gradient_checkpointing);
    const auto& u = pipe_.unet->config;
    state_shape_ = {u.in_channels, u.sample_size, u.sample_size};
    int64_t lora_params = 0;
    for (const auto& [n, t] : policy_trainables()) lora_params += t.numel();
    log::info(cat("diffusers world: ", folder, " (", pipe_.vae ? "latent" : "pixel", " space, state ",
                  u.in_channels, "x", u.sample_size, "x", u.sample_size, "), LoRA r=", lc.rank, " alpha=", lc.alpha,
                  " on ", layers.size(), " layers (", lora_params, " parameters), ", prompts_.size(), " prompts (",
                  cfg.prompts, "), reward ", reward_->name()));
  }

  std::string model_id() const override { return folder_; }
  std::vector<int64_t> state_shape() const override { return state_shape_; }
  EpsModel& policy() override { return policy_; }
  FlowModel& flow() override { return flow_model(); }

  PromptBatch prompts(const std::vector<uint64_t>& seeds) override {
    std::vector<std::string> p;
    for (auto s : seeds) p.push_back(prompts_[prompt_index(s, prompts_.size())]);
    return encode(p);
  }

  PromptBatch encode(const std::vector<std::string>& prompts) override {
    PromptBatch b;
    b.prompts = prompts;
    b.ids = pipe_.tokenizer.encode_batch(prompts);
    // cond = text_encoder(ids), cached per prompt (the encoder is frozen). Each prompt is encoded on its own:
    // the embedding must not depend on which prompts happened to be missing together (BLAS kernels round by
    // batch shape, and a resumed or differently split run fills the cache in other batches).
    at::NoGradGuard ng;
    for (int64_t i = 0; i < b.ids.size(0); ++i) {
      const auto& p = prompts[static_cast<size_t>(i)];
      if (!cache_.count(p)) cache_[p] = pipe_.text_encoder->encode(b.ids.slice(0, i, i + 1))[0].clone();
    }
    std::vector<at::Tensor> c;
    for (const auto& p : prompts) c.push_back(cache_.at(p));
    b.cond = at::stack(c);
    return b;
  }

  at::Tensor uncond() override {
    if (!uncond_.defined()) uncond_ = pipe_.encode_prompts({""});
    return uncond_;
  }
  at::Tensor decode(const at::Tensor& x0) override {
    at::NoGradGuard ng;
    return pipe_.decode(x0);
  }
  Reward& reward() override { return *reward_; }
  NamedTensors policy_trainables() override { return trainable("policy.", *pipe_.unet); }
  NamedTensors flow_trainables() override { return trainable("flow.", *flow_model().net()); }
  const ScheduleConfig& schedule() const override { return pipe_.schedule; }
  std::vector<std::string> prompt_list() const override { return prompts_; }
  bool export_policy(const std::string& path) override {
    save_lora(path, *pipe_.unet);
    return true;
  }

 private:
  static SDPipeline load(const std::string& folder, const std::string& variant) {
    Stopwatch sw;
    auto p = SDPipeline::load(folder, variant);
    log::info(cat("diffusers world: loaded ", folder, " in ", sw.seconds(), " s"));
    return p;
  }
  // The flow is built on first use (the DAG objectives; DDPO never asks for it, so its flow.* keys need not
  // fit the model). Its initialisation has its own seed stream, so when it is built does not matter.
  ConditionalFlowModel& flow_model() {
    if (!flow_) {
      flow_ = std::make_unique<ConditionalFlowModel>(make_flow(cfg_, pipe_, seed_), cfg_.flow_state_input);
      int64_t n = 0;
      for (const auto& p : flow_->net()->parameters()) n += p.numel();
      std::string channels;
      for (int64_t c : cfg_.flow_channels) channels += (channels.empty() ? "" : ",") + std::to_string(c);
      log::info(cat("diffusers world: flow ", channels, " (", cfg_.flow_block_types, " blocks), ", n, " parameters"));
    }
    return *flow_;
  }
  static ConditionalFlow make_flow(const DiffusersWorldConfig& cfg, const SDPipeline& pipe, uint64_t seed) {
    ConditionalFlowConfig fc;
    fc.in_channels = pipe.unet->config.in_channels;
    fc.cross_attention_dim = pipe.unet->config.cross_attention_dim;
    fc.channels = cfg.flow_channels;
    fc.heads = cfg.flow_heads;
    fc.groups = cfg.flow_groups;
    fc.layers_per_block = cfg.flow_layers_per_block;
    fc.cross_attention = flow_cross_attention(cfg.flow_block_types, fc.channels.size(), pipe.unet->config.down_block_types);
    at::manual_seed(stream_seed(seed, Purpose::kInit, 2));  // default PyTorch init draws from the global generator
    return ConditionalFlow(fc);
  }

  DiffusersWorldConfig cfg_;
  std::string folder_;
  std::vector<std::string> prompts_;  // before the model: a bad prompt list or reward fails fast
  std::unique_ptr<Reward> reward_;
  SDPipeline pipe_;
  UNetEpsModel policy_;
  uint64_t seed_;
  std::unique_ptr<ConditionalFlowModel> flow_;
  std::vector<int64_t> state_shape_;
  std::map<std::string, at::Tensor> cache_;
  at::Tensor uncond_;
};

}  // namespace

std::unique_ptr<World> make_diffusers_world(const DiffusersWorldConfig& cfg, const std::string& folder, uint64_t seed) {
  if (!is_diffusers_folder(folder))
    throw ConfigError(cat("model.path: '", folder, "' is not a diffusers folder (no model_index.json)"));
  return std::make_unique<DiffusersWorld>(cfg, folder, seed);
}

}  // namespace dagalign
