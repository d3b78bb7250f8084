#pragma once
// The EpsModel the sampler and the objectives drive, backed by a UNet2DConditionModel:
// eps(x_t, t, cond) = unet(x_t, t, cond); trainable parameters = those with requires_grad (the LoRA
// factors once apply_lora has frozen the base).
#include "dagalign/models/eps_model.h"
#include "dagalign/models/unet_2d_condition.h"

namespace dagalign {

class UNetEpsModel : public EpsModel {
 public:
  explicit UNetEpsModel(UNet2DConditionModel unet) : unet_(std::move(unet)) {}
  at::Tensor eps(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) override {
    return unet_->forward(x, t, cond);
  }
  std::vector<at::Tensor> trainable_parameters() override {
    std::vector<at::Tensor> out;
    for (const auto& p : unet_->parameters())
      if (p.requires_grad()) out.push_back(p);
    return out;
  }
  UNet2DConditionModel& unet() { return unet_; }

 private:
  UNet2DConditionModel unet_;
};

}  // namespace dagalign
