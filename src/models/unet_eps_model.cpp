#include "dagalign/models/unet_eps_model.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/diffusion/v_prediction.h"

namespace dagalign {

UNetEpsModel::UNetEpsModel(UNet2DConditionModel unet, const ScheduleConfig& schedule) : unet_(std::move(unet)) {
  if (schedule.prediction_type == "v_prediction")
    abar_ = at::tensor(NoiseSchedule(schedule).alphas_cumprod(), at::kDouble).to(at::kFloat);
  else if (schedule.prediction_type != "epsilon")
    throw ConfigError(cat("prediction_type '", schedule.prediction_type, "' is not supported (epsilon or v_prediction)"));
}

at::Tensor UNetEpsModel::eps(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) {
  at::Tensor out = unet_->forward(x, t, cond);
  if (!abar_.defined()) return out;
  // abar_t per sample (t: a scalar or one timestep per row of x), on x's device and dtype.
  const at::Tensor a = abar_.to(x.device()).index_select(0, t.reshape({-1}).to(x.device(), at::kLong)).to(x.scalar_type());
  std::vector<int64_t> shape(size_t(x.dim()), 1);
  shape[0] = -1;
  return eps_from_v(out, x, a.view(shape));
}

}  // namespace dagalign
