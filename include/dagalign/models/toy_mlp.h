#pragma once
// Small MLP models for the 2-D world: an eps-model eps(x_t, t) and a flow log F~(x_t, t), both
//   h = SiLU(W_in [x, emb(t)]),  h = SiLU(W_l h) for each hidden layer,  out = W_out h.
// Unconditional (cond is ignored).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "dagalign/diffusion/eps_model.h"

namespace dagalign {

struct ToyMlpConfig {
  int64_t dim = 2;       // state dimension
  int64_t hidden = 128;  // width
  int64_t layers = 3;    // hidden layers
  int64_t time_dim = 32; // sinusoidal embedding size
};

class ToyMlpImpl : public torch::nn::Module {
 public:
  ToyMlpImpl(const ToyMlpConfig& cfg, int64_t out_dim);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t);
  const ToyMlpConfig& config() const { return cfg_; }

 private:
  ToyMlpConfig cfg_;
  torch::nn::ModuleList layers_;
};
TORCH_MODULE(ToyMlp);

// The eps-model: all weights trainable.
class ToyEps : public EpsModel {
 public:
  explicit ToyEps(const ToyMlpConfig& cfg) : net(cfg, cfg.dim) {}
  at::Tensor eps(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) override { return net->forward(x, t); }
  std::vector<at::Tensor> trainable_parameters() override { return net->parameters(); }
  ToyMlp net;
};

// The flow log F~(x_t, t): one scalar per sample.
class ToyFlow : public FlowModel {
 public:
  explicit ToyFlow(const ToyMlpConfig& cfg) : net(cfg, 1) {}
  at::Tensor log_flow(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) override {
    return net->forward(x, t).squeeze(1);
  }
  std::vector<at::Tensor> trainable_parameters() override { return net->parameters(); }
  ToyMlp net;
};

}  // namespace dagalign
