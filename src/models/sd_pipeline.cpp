#include "dagalign/models/sd_pipeline.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/models/unet_eps_model.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {

ScheduleConfig read_scheduler_config(const std::string& path) {
  nlohmann::json j = read_json_file(path);
  ScheduleConfig c;
  c.num_train_timesteps = config_value<int>(j, "num_train_timesteps", path, c.num_train_timesteps);
  c.beta_start = config_value<double>(j, "beta_start", path, c.beta_start);
  c.beta_end = config_value<double>(j, "beta_end", path, c.beta_end);
  c.beta_schedule = config_value<std::string>(j, "beta_schedule", path, c.beta_schedule);
  c.steps_offset = config_value<int>(j, "steps_offset", path, 0);  // diffusers' default is 0
  if (j.contains("trained_betas") && !j["trained_betas"].is_null())
    throw ConfigError(cat("scheduler config ", path, ": trained_betas are not supported"));
  c.prediction_type = config_value<std::string>(j, "prediction_type", path, "epsilon");
  if (c.prediction_type != "epsilon" && c.prediction_type != "v_prediction")
    throw ConfigError(cat("scheduler config ", path, ": prediction_type '", c.prediction_type,
                          "' is not supported (epsilon or v_prediction)"));
  if (config_value<bool>(j, "clip_sample", path, false))  // diffusers' default is true; SD folders say false
    c.clip_sample_range = config_value<double>(j, "clip_sample_range", path, 1.0);
  if (config_value<bool>(j, "set_alpha_to_one", path, false))
    throw ConfigError(cat("scheduler config ", path, ": set_alpha_to_one true is not supported"));
  return c;
}

namespace {
// The vae entry of model_index.json: absent or [null, null] (diffusers' optional component) means none.
bool has_vae(const std::string& folder) {
  const nlohmann::json index = read_model_index(folder);
  if (!index.contains("vae")) return false;
  const auto& v = index.at("vae");
  return !(v.is_null() || (v.is_array() && !v.empty() && v.at(0).is_null()));
}
}  // namespace

SDPipeline SDPipeline::load(const std::string& folder, const std::string& variant) {
  SDPipeline p{ClipTokenizer::from_folder(folder + "/tokenizer"), nullptr, nullptr, nullptr, ScheduleConfig{}};
  p.text_encoder = load_clip_text_model(folder, "text_encoder", variant);
  p.unet = UNet2DConditionModel(UNetConfig::from_file(folder + "/unet/config.json"));
  ComponentLoadOptions opt;
  opt.variant = variant;
  load_component(*p.unet, folder, "unet", opt);
  if (has_vae(folder)) {
    p.vae = AutoencoderKL(VAEConfig::from_file(folder + "/vae/config.json"));
    load_component(*p.vae, folder, "vae", opt);
    p.vae->eval();
  } else {
    DAG_CHECK(p.unet->config.in_channels == 3 && p.unet->config.out_channels == 3, folder,
              ": a pipeline without a vae must be pixel-space (UNet in/out channels 3), found ",
              p.unet->config.in_channels, "/", p.unet->config.out_channels);
  }
  p.schedule = read_scheduler_config(folder + "/scheduler/scheduler_config.json");
  p.text_encoder->eval();
  p.unet->eval();
  return p;
}

at::Tensor SDPipeline::encode_prompts(const std::vector<std::string>& prompts) {
  at::NoGradGuard ng;
  return text_encoder->encode(tokenizer.encode_batch(prompts));
}

int64_t SDPipeline::vae_scale_factor() const {
  if (!vae) return 1;
  return int64_t(1) << (vae->config.block_out_channels.size() - 1);
}

at::Tensor SDPipeline::decode(const at::Tensor& x0) {
  if (vae) return vae->images_from_latents(x0);
  return (x0 / 2 + 0.5).clamp(0, 1);
}

SDPipeline::Output SDPipeline::generate(const std::vector<std::string>& prompts, const std::vector<uint64_t>& seeds,
                                        const SamplerConfig& sampler, int64_t height, int64_t width) {
  DAG_CHECK(!prompts.empty() && prompts.size() == seeds.size(), "SDPipeline::generate: ", prompts.size(),
            " prompts but ", seeds.size(), " seeds");
  const int64_t f = vae_scale_factor();
  if (height <= 0) height = unet->config.sample_size * f;
  if (width <= 0) width = unet->config.sample_size * f;
  DAG_CHECK(height % f == 0 && width % f == 0, "image size ", height, "x", width, " must be divisible by ", f);
  at::NoGradGuard ng;
  at::Tensor cond = encode_prompts(prompts);
  at::Tensor uncond = encode_prompts({""});
  std::vector<at::Generator> gens;
  for (auto s : seeds) gens.push_back(make_generator(s));
  UNetEpsModel model(unet, schedule);
  NoiseSchedule sched(schedule);
  Output out;
  out.chain = sample_chain(model, sched, sampler, {unet->config.in_channels, height / f, width / f}, gens, cond,
                           uncond);
  out.chain.prompts = prompts;
  out.chain.seeds = at::tensor(std::vector<int64_t>(seeds.begin(), seeds.end()), at::kLong);
  at::Tensor x0 = out.chain.latents.select(1, out.chain.steps());
  out.images = decode(x0);
  return out;
}

}  // namespace dagalign
