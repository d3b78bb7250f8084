#pragma once
// The EpsModel the sampler and the objectives drive, backed by a UNet2DConditionModel:
// eps(x_t, t, cond) = unet(x_t, t, cond) for prediction_type "epsilon", and for "v_prediction"
// eps = sqrt(abar_t) unet(x_t, t, cond) + sqrt(1 - abar_t) x_t (diffusion/v_prediction.h); trainable
// parameters = those with requires_grad (the LoRA factors once apply_lora has frozen the base).
#include "dagalign/diffusion/schedule.h"
#include "dagalign/diffusion/eps_model.h"
#include "dagalign/models/unet_2d_condition.h"

namespace dagalign {

class UNetEpsModel : public EpsModel {
 public:
  // Throws ConfigError for a prediction_type other than epsilon / v_prediction.
  explicit UNetEpsModel(UNet2DConditionModel unet, const ScheduleConfig& schedule = {});
  at::Tensor eps(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) override;
  std::vector<at::Tensor> trainable_parameters() override {
    std::vector<at::Tensor> out;
    for (const auto& p : unet_->parameters())
      if (p.requires_grad()) out.push_back(p);
    return out;
  }
  UNet2DConditionModel& unet() { return unet_; }

 private:
  UNet2DConditionModel unet_;
  at::Tensor abar_;  // (N,) float32 alphas_cumprod when the UNet predicts v; undefined for epsilon
};

}  // namespace dagalign
