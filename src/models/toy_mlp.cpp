#include "dagalign/models/toy_mlp.h"

#include <ATen/ATen.h>

#include "dagalign/models/timestep_embedding.h"

namespace dagalign {

ToyMlpImpl::ToyMlpImpl(const ToyMlpConfig& cfg, int64_t out_dim) : cfg_(cfg) {
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t in = cfg.dim + cfg.time_dim;
  for (int64_t l = 0; l < cfg.layers; ++l) {
    layers_->push_back(torch::nn::Linear(in, cfg.hidden));
    in = cfg.hidden;
  }
  layers_->push_back(torch::nn::Linear(in, out_dim));
}

at::Tensor ToyMlpImpl::forward(const at::Tensor& x, const at::Tensor& t) {
  // The timestep is scaled to [0, 1000) already; the embedding uses it directly as diffusers does.
  auto h = at::cat({x, timestep_embedding(t, cfg_.time_dim).to(x.scalar_type())}, 1);
  const auto n = layers_->size();
  for (size_t l = 0; l + 1 < n; ++l) h = at::silu(layers_->ptr<torch::nn::LinearImpl>(l)->forward(h));
  return layers_->ptr<torch::nn::LinearImpl>(n - 1)->forward(h);
}

}  // namespace dagalign
