#include "dagalign/train/toy2d.h"

#include <cmath>

#include <ATen/ATen.h>

#include "dagalign/algo/adamw.h"
#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/timer.h"

namespace dagalign {

void Toy2dConfig::add_to(Config& c) {
  c.add("toy2d.modes", &modes, "number of mixture modes on the ring", positive())
      .add("toy2d.radius", &radius, "ring radius", positive())
      .add("toy2d.std", &std, "std of each mode", positive())
      .add("toy2d.reward_weights", &reward_weights, "reward bump weight per mode", at_least(0))
      .add("toy2d.reward_std", &reward_std, "reward bump width", positive())
      .add("toy2d.reward_floor", &reward_floor, "R floor inside the box", positive())
      .add("toy2d.box", &box, "R is defined on [-box, box]^2", positive())
      .add("toy2d.hidden", &hidden, "MLP width (eps-model and flow)", positive())
      .add("toy2d.layers", &layers, "MLP hidden layers", positive())
      .add("toy2d.pretrain_steps", &pretrain_steps, "pretraining steps of the base eps-model", at_least(0))
      .add("toy2d.pretrain_batch", &pretrain_batch, "pretraining batch size", positive())
      .add("toy2d.pretrain_lr", &pretrain_lr, "pretraining learning rate", positive());
}

at::Tensor toy2d_means(const Toy2dConfig& cfg) {
  auto angle = at::arange(cfg.modes, at::kDouble) * (2 * M_PI / cfg.modes);
  return at::stack({angle.cos(), angle.sin()}, 1).to(at::kFloat) * cfg.radius;
}

at::Tensor toy2d_data(const Toy2dConfig& cfg, int64_t n, at::Generator& gen) {
  auto k = at::randint(cfg.modes, {n}, gen, at::kLong);
  return toy2d_means(cfg).index_select(0, k) + cfg.std * at::randn({n, 2}, gen, at::kFloat);
}

static at::Tensor reward_weights(const Toy2dConfig& cfg) {
  if (static_cast<int64_t>(cfg.reward_weights.size()) != cfg.modes)
    throw ConfigError(cat("toy2d.reward_weights: ", cfg.reward_weights.size(), " weights for ", cfg.modes, " modes"));
  return at::tensor(cfg.reward_weights, at::kFloat);
}

at::Tensor toy2d_log_reward(const Toy2dConfig& cfg, const at::Tensor& x) {
  // R(x) = floor + sum_k w_k exp(-|x - mu_k|^2 / (2 s^2)) inside the box, floor^2 outside.
  auto xd = x.to(at::kDouble);
  auto d2 = (xd.unsqueeze(1) - toy2d_means(cfg).to(at::kDouble).unsqueeze(0)).pow(2).sum(2);
  auto bumps = (at::exp(-d2 / (2 * cfg.reward_std * cfg.reward_std)) * reward_weights(cfg).to(at::kDouble)).sum(1);
  auto inside = (xd.abs() <= cfg.box).all(1);
  auto R = at::where(inside, bumps + cfg.reward_floor, at::full_like(bumps, cfg.reward_floor * cfg.reward_floor));
  return R.log().to(at::kFloat);
}

at::Tensor toy2d_target_bins(const Toy2dConfig& cfg, double beta, int64_t bins) {
  const int64_t sub = 16, n = bins * sub;
  const double h = 2 * cfg.box / n;
  auto c = (at::arange(n, at::kDouble) + 0.5) * h - cfg.box;
  auto grid = at::stack({c.repeat_interleave(n), c.repeat({n})}, 1);  // (n*n, 2): x varies slowest
  auto logp = beta * toy2d_log_reward(cfg, grid).to(at::kDouble);
  auto p = (logp - logp.max()).exp().view({bins, sub, bins, sub}).sum({1, 3});
  return p / p.sum();
}

at::Tensor toy2d_histogram(const Toy2dConfig& cfg, const at::Tensor& x, int64_t bins) {
  auto xd = x.to(at::kDouble);
  auto idx = ((xd + cfg.box) / (2 * cfg.box) * bins).floor().to(at::kLong);
  auto inside = ((idx >= 0) & (idx < bins)).all(1);
  auto flat = (idx.select(1, 0) * bins + idx.select(1, 1)).masked_select(inside);
  auto counts = at::zeros({bins * bins}, at::kDouble);
  counts.index_add_(0, flat, at::ones({flat.size(0)}, at::kDouble));
  return (counts / static_cast<double>(x.size(0))).view({bins, bins});
}

double total_variation(const at::Tensor& p, const at::Tensor& q) {
  // Mass missing from p (samples outside the box) counts fully.
  auto d = (p - q).abs().sum().item<double>() + std::abs(1.0 - p.sum().item<double>());
  return 0.5 * d;
}

void pretrain_toy2d(ToyEps& model, const Toy2dConfig& cfg, const NoiseSchedule& schedule, uint64_t seed) {
  auto gen = make_generator(stream_seed(seed, Purpose::kData));
  AdamW opt(model.trainable_parameters(), {cfg.pretrain_lr, 0.9, 0.999, 1e-8, 0.0});
  const auto abar = at::tensor(schedule.alphas_cumprod()).to(at::kFloat);
  Stopwatch sw;
  double recent = 0;
  for (int64_t step = 0; step < cfg.pretrain_steps; ++step) {
    // L = E || eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) ||^2,  t ~ U{0..N-1}
    auto x0 = toy2d_data(cfg, cfg.pretrain_batch, gen);
    auto t = at::randint(schedule.num_train_timesteps(), {cfg.pretrain_batch}, gen, at::kLong);
    auto eps = at::randn({cfg.pretrain_batch, 2}, gen, at::kFloat);
    auto a = abar.index_select(0, t).unsqueeze(1);
    auto xt = a.sqrt() * x0 + (1 - a).sqrt() * eps;
    auto loss = (model.eps(xt, t, {}) - eps).pow(2).mean();
    for (auto& p : model.trainable_parameters()) p.mutable_grad() = at::Tensor();
    loss.backward();
    opt.step();
    recent = step == 0 ? loss.item<double>() : 0.99 * recent + 0.01 * loss.item<double>();
  }
  for (auto& p : model.trainable_parameters()) p.mutable_grad() = at::Tensor();
  log::info(cat("toy2d: pretrained the base eps-model, ", cfg.pretrain_steps, " steps in ", sw.seconds(),
                " s, loss (EMA) ", recent));
}

namespace {

class Toy2dReward : public Reward {
 public:
  explicit Toy2dReward(Toy2dConfig cfg) : cfg_(std::move(cfg)) {}
  std::string name() const override { return "toy2d_log_bumps"; }
  at::Tensor score(const at::Tensor& x, const std::vector<std::string>&) override {
    return toy2d_log_reward(cfg_, x.to(at::kFloat));
  }

 private:
  Toy2dConfig cfg_;
};

class Toy2dWorld : public World {
 public:
  Toy2dWorld(const Toy2dConfig& cfg, const ScheduleConfig& schedule, uint64_t seed)
      : seeded_(seed_init(seed)), cfg_(cfg), schedule_(schedule), policy_(mlp(cfg)), flow_(mlp(cfg)), reward_(cfg) {
    pretrain_toy2d(policy_, cfg, NoiseSchedule(schedule), seed);
  }
  std::string model_id() const override { return "toy2d"; }
  std::vector<int64_t> state_shape() const override { return {2}; }
  const ScheduleConfig& schedule() const override { return schedule_; }
  EpsModel& policy() override { return policy_; }
  FlowModel& flow() override { return flow_; }
  PromptBatch prompts(const std::vector<uint64_t>& seeds) override {
    return {std::vector<std::string>(seeds.size()), {}, {}};
  }
  at::Tensor uncond() override { return {}; }
  at::Tensor decode(const at::Tensor& x0) override { return x0; }
  Reward& reward() override { return reward_; }
  NamedTensors policy_trainables() override { return named("policy.", policy_.net->named_parameters()); }
  NamedTensors flow_trainables() override { return named("flow.", flow_.net->named_parameters()); }

 private:
  static ToyMlpConfig mlp(const Toy2dConfig& c) { return {2, c.hidden, c.layers, 32}; }
  static bool seed_init(uint64_t seed) {  // module initialisation draws from the default generator
    at::manual_seed(stream_seed(seed, Purpose::kInit));
    return true;
  }
  template <class D>
  static NamedTensors named(const std::string& prefix, const D& dict) {
    NamedTensors out;
    for (const auto& item : dict) out.push_back({prefix + item.key(), item.value()});
    return out;
  }
  bool seeded_;  // first member: seeds before the modules below are initialised
  Toy2dConfig cfg_;
  ScheduleConfig schedule_;
  ToyEps policy_;
  ToyFlow flow_;
  Toy2dReward reward_;
};

}  // namespace

std::unique_ptr<World> make_toy2d_world(const Toy2dConfig& cfg, const ScheduleConfig& schedule, uint64_t seed) {
  return std::make_unique<Toy2dWorld>(cfg, schedule, seed);
}

}  // namespace dagalign
