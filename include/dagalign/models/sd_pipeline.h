#pragma once
// Text-to-image with a diffusers Stable Diffusion folder (diffusers StableDiffusionPipeline, DDIM):
//   cond = text_encoder(tokenizer(prompt)), uncond = text_encoder(tokenizer(""))
//   x_T ~ N(0, I) from the image's own seed; T DDIM steps with eps = eps_u + w (eps_c - eps_u)
//   image = clamp(vae.decode(x_0 / scaling_factor) / 2 + 0.5, 0, 1)
// A pixel-space model (no vae/ folder; model_index.json says "vae": [null, null]) has the identity decoder:
//   image = clamp(x_0 / 2 + 0.5, 0, 1)
// Each image depends only on its prompt and seed (one generator per image: x_T, then each step's noise).
#include <string>
#include <vector>

#include "dagalign/diffusion/sampler.h"
#include "dagalign/diffusion/schedule.h"
#include "dagalign/models/autoencoder_kl.h"
#include "dagalign/models/clip_text_model.h"
#include "dagalign/models/clip_tokenizer.h"
#include "dagalign/models/unet_2d_condition.h"

namespace dagalign {

// scheduler/scheduler_config.json -> the noise schedule (beta_start, beta_end, beta_schedule,
// num_train_timesteps, steps_offset, clip_sample, prediction_type epsilon or v_prediction;
// trained_betas and other prediction types are rejected).
ScheduleConfig read_scheduler_config(const std::string& path);

struct SDPipeline {
  ClipTokenizer tokenizer;
  ClipTextModel text_encoder{nullptr};
  UNet2DConditionModel unet{nullptr};
  AutoencoderKL vae{nullptr};  // null: pixel space, identity decoder
  ScheduleConfig schedule;

  // Loads tokenizer/, text_encoder/, unet/, vae/ (when present) and scheduler/ of a diffusers folder
  // (strict weights).
  static SDPipeline load(const std::string& folder, const std::string& variant = "");

  at::Tensor encode_prompts(const std::vector<std::string>& prompts);  // [B, 77, D]
  // Latent spatial size for an image size (0: the UNet's sample_size) and the VAE's 2^(levels-1) factor
  // (1 in pixel space).
  int64_t vae_scale_factor() const;
  // Final states x_0 [B, C, h, w] -> images [B, 3, H, W] in [0, 1] (the VAE decoder, or the identity).
  at::Tensor decode(const at::Tensor& x0);

  struct Output {
    at::Tensor images;      // [B, 3, H, W] float in [0, 1]
    TrajectoryBatch chain;  // latents, timesteps, log-probs of the sampled chains
  };
  // One image per (prompt, seed) pair; height/width 0: unet sample_size * vae_scale_factor.
  Output generate(const std::vector<std::string>& prompts, const std::vector<uint64_t>& seeds,
                  const SamplerConfig& sampler, int64_t height = 0, int64_t width = 0);
};

}  // namespace dagalign
