#pragma once
// The LAION "improved aesthetic predictor" as DDPO uses it (docs/design.md;
// christophschuhmann/improved-aesthetic-predictor, kvablack/ddpo-pytorch aesthetic_scorer.py):
//   e = get_image_features(clip_preprocess(images)) (CLIP ViT-L/14), e = e / ||e||_2,
//   score = W4 (W3 (W2 (W1 (W0 e + b0) + b1) + b2) + b3) + b4
// Linear 768 -> 1024 -> 128 -> 64 -> 16 -> 1 with no activations (the ReLUs are commented out upstream);
// dropouts sit at Sequential indices 1, 3, 5, so the weight keys are layers.{0,2,4,6,7}.{weight,bias}.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/clip_vision_model.h"
#include "dagalign/rewards/reward.h"
#include "dagalign/weights/safetensors.h"

namespace dagalign {

class AestheticMlpImpl : public torch::nn::Module {
 public:
  // widths: input, hidden..., 1. Default = the LAION head {768, 1024, 128, 64, 16, 1}.
  explicit AestheticMlpImpl(const std::vector<int64_t>& widths = {768, 1024, 128, 64, 16, 1});
  at::Tensor forward(const at::Tensor& x);  // [B, in] -> [B, 1]
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(AestheticMlp);

// The head's widths read from a safetensors file's layers.{0,2,4,6,7}.weight shapes; errors name the file.
std::vector<int64_t> aesthetic_widths(const TensorMap& weights, const std::string& file);
// Loads the head from safetensors (converted once from sac+logos+ava1-l14-linearMSE.pth). Eval mode.
AestheticMlp load_aesthetic_mlp(const std::string& file);

class AestheticReward : public Reward {
 public:
  AestheticReward(ClipVisionWithProjection clip, AestheticMlp head, ClipPreprocessOptions preprocess = {},
                  int64_t batch_size = 16);
  // clip_dir: a transformers CLIPModel folder (config.json + model.safetensors, e.g.
  // openai/clip-vit-large-patch14); head_file: the MLP head as safetensors.
  static std::unique_ptr<AestheticReward> from_files(const std::string& clip_dir, const std::string& head_file);

  std::string name() const override { return "aesthetic"; }
  // samples: (B, 3, H, W) in [0, 1]; no gradient (the reward is a black box). Returns (B,) float32, CPU.
  at::Tensor score(const at::Tensor& samples, const std::vector<std::string>& prompts) override;
  // The L2-normalised CLIP image embeddings the head sees, (B, projection_dim).
  at::Tensor embed(const at::Tensor& samples);

 private:
  ClipVisionWithProjection clip_;
  AestheticMlp head_;
  ClipPreprocessOptions preprocess_;
  int64_t batch_size_;
};

}  // namespace dagalign
