// LAION aesthetic predictor on CLIP image embeddings; see the header for the equations.
#include "dagalign/rewards/aesthetic.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "dagalign/core/error.h"
#include "dagalign/weights/safetensors.h"
#include "dagalign/weights/state_dict.h"

namespace dagalign {
namespace {
// Sequential indices of the Linear layers (Dropout(0.2), Dropout(0.2), Dropout(0.1) at 1, 3, 5).
const int64_t kLinearIndex[] = {0, 2, 4, 6, 7};
const double kDropout[] = {0.2, 0.2, 0.1};
}  // namespace

AestheticMlpImpl::AestheticMlpImpl(const std::vector<int64_t>& widths) {
  DAG_CHECK(widths.size() == 6 && widths.back() == 1, "aesthetic head: expected 6 widths ending in 1, found ",
            widths.size());
  layers = register_module("layers", torch::nn::ModuleList());
  for (size_t i = 0; i < 5; ++i) {
    layers->push_back(torch::nn::Linear(widths[i], widths[i + 1]));
    if (i < 3) layers->push_back(torch::nn::Dropout(kDropout[i]));
  }
}

at::Tensor AestheticMlpImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (int64_t idx : kLinearIndex) h = layers->ptr<torch::nn::LinearImpl>(size_t(idx))->forward(h);  // no activations
  return h;
}

std::vector<int64_t> aesthetic_widths(const TensorMap& weights, const std::string& file) {
  std::vector<int64_t> widths;
  for (size_t i = 0; i < 5; ++i) {
    const auto key = cat("layers.", kLinearIndex[i], ".weight");
    auto it = weights.find(key);
    DAG_CHECK(it != weights.end(), "aesthetic head ", file, ": missing '", key, "'");
    DAG_CHECK(it->second.dim() == 2, "aesthetic head ", file, ": '", key, "' must be 2-D, found ", it->second.sizes());
    if (i == 0) widths.push_back(it->second.size(1));
    DAG_CHECK(it->second.size(1) == widths.back(), "aesthetic head ", file, ": '", key, "' has ", it->second.size(1),
              " inputs, the previous layer gives ", widths.back());
    widths.push_back(it->second.size(0));
  }
  DAG_CHECK(widths.back() == 1, "aesthetic head ", file, ": the last layer has ", widths.back(), " outputs, expected 1");
  return widths;
}

AestheticMlp load_aesthetic_mlp(const std::string& file) {
  const auto weights = read_safetensors(file);
  AestheticMlp head(aesthetic_widths(weights, file));
  load_state_dict(*head, weights, file);
  head->eval();
  return head;
}

AestheticReward::AestheticReward(ClipVisionWithProjection clip, AestheticMlp head, ClipPreprocessOptions preprocess,
                                 int64_t batch_size)
    : clip_(std::move(clip)), head_(std::move(head)), preprocess_(preprocess), batch_size_(batch_size) {
  const int64_t in = head_->layers->ptr<torch::nn::LinearImpl>(0)->weight.size(1);
  DAG_CHECK(in == clip_->config.projection_dim, "reward 'aesthetic': the head takes ", in,
            " features, the CLIP model gives ", clip_->config.projection_dim);
  DAG_CHECK(preprocess_.crop_size == clip_->config.image_size, "reward 'aesthetic': preprocessing crops to ",
            preprocess_.crop_size, " but the CLIP model expects ", clip_->config.image_size);
  clip_->eval();
  head_->eval();
}

std::unique_ptr<AestheticReward> AestheticReward::from_files(const std::string& clip_dir, const std::string& head_file) {
  auto clip = load_clip_vision(clip_dir);
  ClipPreprocessOptions p;
  p.shortest_edge = p.crop_size = clip->config.image_size;
  return std::make_unique<AestheticReward>(clip, load_aesthetic_mlp(head_file), p);
}

at::Tensor AestheticReward::embed(const at::Tensor& samples) {
  DAG_CHECK(samples.dim() == 4 && samples.size(1) == 3, "reward 'aesthetic': samples must be (B, 3, H, W), found ",
            samples.sizes());
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> out;
  for (int64_t b = 0; b < samples.size(0); b += batch_size_) {
    auto chunk = samples.slice(0, b, std::min(samples.size(0), b + batch_size_)).to(at::kCPU);
    auto e = clip_->get_image_features(clip_preprocess(chunk, preprocess_));
    out.push_back(e / e.norm(2, {-1}, /*keepdim=*/true));  // e / ||e||_2
  }
  return out.empty() ? at::empty({0, clip_->config.projection_dim}) : at::cat(out, 0);
}

at::Tensor AestheticReward::score(const at::Tensor& samples, const std::vector<std::string>& prompts) {
  at::NoGradGuard no_grad;
  auto s = head_->forward(embed(samples)).squeeze(-1).to(at::kFloat).contiguous();
  check_scores(name(), s, samples.size(0));
  return s;
}

}  // namespace dagalign
