// AutoencoderKL encoder/decoder vs diffusers on a tiny random configuration (tools/golden/vae_golden.py),
// legacy attention names through the rename pass, and the latent scaling.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "dagalign/core/rng.h"
#include "dagalign/models/autoencoder_kl.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

const std::string kDir = std::string(DAGALIGN_TEST_DATA) + "/vae/tiny";

double max_abs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

AutoencoderKL load_tiny() {
  AutoencoderKL vae(VAEConfig::from_file(kDir + "/config.json"));
  load_component(*vae, std::string(DAGALIGN_TEST_DATA) + "/vae", "tiny");
  return vae;
}

TEST(VAEParity, EncoderMatchesDiffusers) {
  AutoencoderKL vae = load_tiny();
  EXPECT_DOUBLE_EQ(vae->config.scaling_factor, 0.5);
  TensorMap io = read_safetensors(kDir + "/io.safetensors");
  at::NoGradGuard ng;
  DiagonalGaussian d = vae->encode(io.at("image"));
  EXPECT_LE(max_abs(d.mean, io.at("mean")), 1e-4);
  EXPECT_LE(max_abs(d.logvar, io.at("logvar")), 1e-4);
  EXPECT_GT(io.at("mean").abs().max().item<double>(), 0.5);
  // sample = mean + exp(logvar / 2) * n with n from the generator
  auto g1 = make_generator(7);
  auto g2 = make_generator(7);
  at::Tensor n = at::randn(d.mean.sizes(), g2, d.mean.options());
  EXPECT_LE(max_abs(d.sample(g1), d.mean + at::exp(0.5 * d.logvar) * n), 1e-6);
}

TEST(VAEParity, DecoderMatchesDiffusers) {
  AutoencoderKL vae = load_tiny();
  TensorMap io = read_safetensors(kDir + "/io.safetensors");
  at::NoGradGuard ng;
  at::Tensor y = vae->decode(io.at("latents"));
  ASSERT_EQ(y.sizes(), io.at("decoded").sizes());
  EXPECT_LE(max_abs(y, io.at("decoded")), 1e-4);
  // images_from_latents: clamp(decode(l / s) / 2 + 0.5, 0, 1) with s = scaling_factor
  at::Tensor img = vae->images_from_latents(io.at("latents") * 0.5);
  EXPECT_LE(max_abs(img, (io.at("decoded") / 2 + 0.5).clamp(0, 1)), 1e-4);
  EXPECT_GE(img.min().item<double>(), 0.0);
  EXPECT_LE(img.max().item<double>(), 1.0);
}

TEST(VAEParity, LegacyAttentionNamesLoadThroughRenamePass) {
  TensorMap t = read_safetensors(kDir + "/diffusion_pytorch_model.safetensors");
  TensorMap legacy;
  const std::vector<std::pair<std::string, std::string>> back = {
      {".to_q.", ".query."}, {".to_k.", ".key."}, {".to_v.", ".value."}, {".to_out.0.", ".proj_attn."}};
  int renamed = 0;
  for (auto& [k, v] : t) {
    std::string key = k;
    for (auto& [cur, old] : back) {
      auto p = key.find(cur);
      if (key.find("mid_block.attentions.0") != std::string::npos && p != std::string::npos) {
        key = key.substr(0, p) + old + key.substr(p + cur.size());
        ++renamed;
      }
    }
    legacy.emplace(key, v);
  }
  ASSERT_EQ(renamed, 16);  // encoder + decoder, 4 linears, weight + bias
  AutoencoderKL vae(VAEConfig::from_file(kDir + "/config.json"));
  EXPECT_THROW(load_state_dict(*vae, legacy, "legacy.safetensors"), Error);
  load_state_dict(*vae, rename_legacy_keys(legacy, "legacy.safetensors"), "legacy.safetensors");
  TensorMap io = read_safetensors(kDir + "/io.safetensors");
  at::NoGradGuard ng;
  EXPECT_LE(max_abs(vae->decode(io.at("latents")), io.at("decoded")), 1e-4);
}

}  // namespace
}  // namespace dagalign
