#include "dagalign/train/trainer.h"

#include <cmath>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/algo/dag_db.h"
#include "dagalign/algo/dag_kl.h"
#include "dagalign/algo/ddpo.h"
#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/diffusion/sampler.h"
#include "dagalign/io/trajectory_store.h"

namespace dagalign {

namespace {
std::vector<at::Tensor> values(const NamedTensors& named) {
  std::vector<at::Tensor> v;
  for (const auto& [name, t] : named) v.push_back(t);
  return v;
}
}  // namespace

Trainer::Trainer(const TrainerConfig& cfg, World& world, Communicator& comm)
    : cfg_(cfg), world_(world), comm_(comm), schedule_(world.schedule()), algo_(cfg.objective.algorithm),
      tracker_(cfg.stat_buffer, cfg.stat_min_count) {
  trainables_ = world.policy_trainables();
  policy_params_ = values(trainables_);
  if (algo_ != Algorithm::kDdpo) {
    auto flow = world.flow_trainables();
    flow_params_ = values(flow);
    trainables_.insert(trainables_.end(), flow.begin(), flow.end());
  }
  std::vector<std::vector<at::Tensor>> groups{policy_params_};
  if (!flow_params_.empty()) groups.push_back(flow_params_);
  grads_ = std::make_unique<FlatGrads>(groups);
  grads_->zero();  // bind() keeps gradients left by earlier code (pretraining): training starts from zero
  grads_->broadcast_parameters(comm_);  // every replica starts from rank 0's weights
  // The flow's parameters follow the policy's in trainables_; their lr may differ (train.flow_lr).
  std::vector<double> lr_scale(policy_params_.size(), 1.0);
  lr_scale.resize(trainables_.size(), cfg.flow_lr > 0 ? cfg.flow_lr / cfg.adam.lr : 1.0);
  opt_ = std::make_unique<AdamW>(values(trainables_), cfg.adam, lr_scale);
}

TrajectoryBatch Trainer::sample_epoch(int epoch, TrajectoryWriter* store) {
  const int S = cfg_.sample_batch_size, T = cfg_.sampler.steps;
  const int64_t n_local = cfg_.trajectories_per_epoch();
  std::vector<TrajectoryBatch> parts;
  for (int b = 0; b < cfg_.sample_batches; ++b) {
    std::vector<uint64_t> seeds, prompt_seeds;
    std::vector<at::Generator> gens;
    for (int i = 0; i < S; ++i) {
      const uint64_t g = comm_.rank() * n_local + b * S + i;  // global trajectory index
      seeds.push_back(stream_seed(cfg_.run.seed, Purpose::kTrajectory, epoch, g));
      prompt_seeds.push_back(stream_seed(cfg_.run.seed, Purpose::kPrompt, epoch, g));
      gens.push_back(make_generator(seeds.back()));
    }
    TrajectoryBatch part;
    {
      auto scope = timer_.scope("sample");
      auto prompts = world_.prompts(prompt_seeds);
      part = sample_chain(world_.policy(), schedule_, cfg_.sampler, world_.state_shape(), gens, prompts.cond,
                          world_.uncond());
      part.prompts = prompts.prompts;
      part.prompt_ids = prompts.ids;
      part.seeds = at::tensor(std::vector<int64_t>(seeds.begin(), seeds.end()), at::kLong);
      part.policy_version = at::full({S}, steps_, at::kLong);
    }
    try {
      auto scope = timer_.scope("reward");
      at::NoGradGuard no_grad;
      auto decoded = world_.decode(part.latents.select(1, T));
      auto r = world_.reward().score(decoded, part.prompts);
      check_scores(world_.reward().name(), r, S);
      part.rewards = r.to(at::kFloat);
    } catch (...) {
      part.rewards = at::full({S}, NAN, at::kFloat);  // the sampled trajectories are still written
      if (store) store->append(part);
      throw;
    }
    if (store) {
      auto scope = timer_.scope("io");
      store->append(part);
    }
    parts.push_back(std::move(part));
  }
  return TrajectoryBatch::cat(parts);
}

void Trainer::reward_stats(const TrajectoryBatch& batch, EpochStats& stats) {
  auto all = comm_.allgather(batch.rewards.to(at::kDouble));
  stats.trajectories = all.size(0);
  stats.reward_mean = all.mean().item<double>();
  stats.reward_std = all.size(0) > 1 ? all.std().item<double>() : 0.0;
  stats.reward_max = all.max().item<double>();
  stats.reward_min = all.min().item<double>();
}

at::Tensor Trainer::advantages(const TrajectoryBatch& batch) {
  // Rewards and prompts of every rank, so per-prompt statistics see the global batch.
  auto all = comm_.allgather(batch.rewards.to(at::kDouble).contiguous());
  auto prompts = comm_.allgather_strings(batch.prompts);
  std::vector<double> r(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
  auto adv = cfg_.per_prompt_stats ? tracker_.update(prompts, r) : batch_advantages(r);
  const int64_t n = batch.size(), begin = comm_.rank() * n;
  return at::tensor(std::vector<double>(adv.begin() + begin, adv.begin() + begin + n), at::kDouble).to(at::kFloat);
}

// Forward-looking rewards of every state s_0 .. s_{T-1} of trajectories [begin, end): T evaluations per
// trajectory (the terminal state uses the stored reward) instead of 2 per transition.
at::Tensor Trainer::fl_rewards(const TrajectoryBatch& batch, int64_t begin, int64_t end) {
  const int64_t T = batch.steps(), n = end - begin;
  auto fl = at::zeros({batch.size(), T}, at::kFloat);
  auto x = batch.latents.slice(0, begin, end).slice(1, 0, T).flatten(0, 1);
  auto t = batch.timesteps.slice(0, begin, end).flatten();
  auto rows = at::arange(begin, end, at::kLong).repeat_interleave(T);
  auto cond = batch.cond.defined() ? batch.cond.index_select(0, rows) : at::Tensor();
  const int64_t chunk = std::max<int64_t>(cfg_.sample_batch_size, 1);
  auto out = fl.slice(0, begin, end).view({n * T});
  for (int64_t i = 0; i < n * T; i += chunk) {
    const int64_t j = std::min(n * T, i + chunk);
    auto c = cond.defined() ? cond.slice(0, i, j) : at::Tensor();
    out.slice(0, i, j).copy_(forward_looking_reward(world_.policy(), schedule_, x.slice(0, i, j), t.slice(0, i, j), c,
                                                    rows.slice(0, i, j), reward_of_x0(batch), cfg_.objective.fl_steps));
  }
  return fl;
}

RewardOfX0 Trainer::reward_of_x0(const TrajectoryBatch& batch) {
  return [this, &batch](const at::Tensor& x0, const at::Tensor& rows) {
    std::vector<std::string> prompts;
    auto r = rows.contiguous();
    for (int64_t i = 0; i < r.numel(); ++i) prompts.push_back(batch.prompts.at(r.data_ptr<int64_t>()[i]));
    auto scores = world_.reward().score(world_.decode(x0), prompts);
    check_scores(world_.reward().name(), scores, x0.size(0));
    return scores;
  };
}

// The official form: r(x0hat) of both states of every transition, evaluated per transition.
void Trainer::fill_fl_naive(Transitions& tr, const TrajectoryBatch& batch, const at::Tensor& traj) {
  auto f = reward_of_x0(batch);
  const int k = cfg_.objective.fl_steps;
  tr.fl_t = forward_looking_reward(world_.policy(), schedule_, tr.x_t, tr.t, tr.cond, traj, f, k);
  auto next = forward_looking_reward(world_.policy(), schedule_, tr.x_prev, at::clamp_min(tr.t_prev, 0), tr.cond, traj, f, k);
  tr.fl_prev = at::where(tr.is_last, batch.rewards.index_select(0, traj).to(next.scalar_type()), next);
}

EpochStats Trainer::train_on(const TrajectoryBatch& batch, int epoch) {
  auto scope = timer_.scope("train");
  EpochStats stats;
  stats.epoch = epoch;
  stats.beta = cfg_.objective.beta(epoch, cfg_.epochs);
  const int64_t N = batch.size(), T = batch.steps(), B = cfg_.batch_size, A = cfg_.grad_accum, U = B * A;
  DAG_CHECK(N % U == 0, "train_on: ", N, " trajectories is not a multiple of batch_size * grad_accum = ", U);
  auto adv = algo_ == Algorithm::kDdpo ? advantages(batch) : at::Tensor();
  // Each trajectory visits its T transitions in its own random order (seeded by the trajectory).
  std::vector<at::Tensor> perm_rows;
  auto seeds = batch.seeds.contiguous();
  for (int64_t i = 0; i < N; ++i) {
    auto g = make_generator(stream_seed(static_cast<uint64_t>(seeds.data_ptr<int64_t>()[i]), Purpose::kShuffle));
    perm_rows.push_back(at::randperm(T, g, at::kLong));
  }
  auto perms = at::stack(perm_rows);
  PolicyContext ctx{world_.policy(), algo_ == Algorithm::kDdpo ? nullptr : &world_.flow(), schedule_, cfg_.sampler,
                    world_.uncond()};
  opt_->set_lr(cfg_.lr_at(epoch));
  // Flow warm-up (train.flow_warmup_epochs): the policy's parameters (first in the optimiser) keep lr 0.
  if (algo_ != Algorithm::kDdpo && cfg_.flow_warmup_epochs > 0)
    for (size_t i = 0; i < policy_params_.size(); ++i) opt_->set_lr_scale(i, epoch < cfg_.flow_warmup_epochs ? 0.0 : 1.0);  // epoch is 0-based
  std::map<std::string, double> sums;
  int64_t micro = 0;
  const bool dag = algo_ != Algorithm::kDdpo;
  // Micro-batch k of an update: its B trajectories' forward-looking rewards (computed here, not per update,
  // so that their chunks have the same shapes whatever grad_accum and the rank count), then its T steps'
  // gradients summed into the flat buffer.
  auto micro_batch = [&](int64_t first) {
    auto traj = at::arange(first, first + B, at::kLong);
    auto fl = dag && cfg_.objective.fl_cache ? fl_rewards(batch, first, first + B) : at::Tensor();
    for (int64_t j = 0; j < T; ++j) {
      auto step = perms.index_select(0, traj).select(1, j).contiguous();
      auto tr = gather_transitions(batch, traj, step, schedule_, cfg_.sampler.steps, fl, adv);
      if (dag && !cfg_.objective.fl_cache) fill_fl_naive(tr, batch, traj);
      LossTerms terms = algo_ == Algorithm::kDagDb   ? dag_db_loss(ctx, tr, cfg_.objective, stats.beta)
                        : algo_ == Algorithm::kDagKl ? dag_kl_loss(ctx, tr, cfg_.objective, stats.beta)
                                                     : ddpo_loss(ctx, tr, cfg_.objective);
      // loss = mean_batch(L) / (grad_accum * T): the accumulated gradient is the mean over the update.
      (terms.loss / static_cast<double>(A * T)).backward();
      for (const auto& [k, v] : terms.stats) sums[k] += v;
      sums["loss"] += terms.loss.item<double>();
      ++micro;
    }
  };
  // The gradient of micro-batches [lo, hi) of an update, left in the flat buffer: a pairwise sum split at
  // ceil((hi - lo) / 2), G[lo, hi) = G[lo, mid) + G[mid, hi). One rank with grad_accum 2A then adds exactly
  // what two ranks with grad_accum A add (each rank's G over its A micro-batches, then the all-reduce
  // G_0 + G_1), so the float32 rounding, and the parameters, are bitwise those of the 2-rank run
  // (tests/integration/mpi_train/equivalence.sh). A straight running sum would round in another order, which Adam's
  // g / (sqrt(v) + eps) turns into relative differences of ~1e-5 in zero-initialised LoRA B within two steps.
  at::Tensor& flat = grads_->buffer();
  std::function<void(int64_t, int64_t, int64_t)> accumulate = [&](int64_t first, int64_t lo, int64_t hi) {
    if (hi - lo == 1) return micro_batch(first + lo * B);
    const int64_t mid = lo + (hi - lo + 1) / 2;
    accumulate(first, lo, mid);
    auto left = flat.clone();
    flat.zero_();
    accumulate(first, mid, hi);
    flat.add_(left);
  };
  for (int64_t u = 0; u < N / U; ++u) {
    accumulate(u * U, 0, A);
    optimiser_step(stats);
  }
  // Means over micro-batches, then over ranks (one collective).
  std::vector<double> v;
  for (const auto& [k, s] : sums) v.push_back(s / micro);
  v.push_back(stats.grad_norm_policy);
  v.push_back(stats.grad_norm_flow);
  v = comm_.allreduce_sum(v);
  size_t i = 0;
  for (const auto& [k, s] : sums) stats.loss[k] = v[i++] / comm_.size();
  stats.grad_norm_policy = v[i++] / comm_.size();
  stats.grad_norm_flow = v[i++] / comm_.size();
  stats.transitions = N * T * comm_.size();
  return stats;
}

CheckpointData Trainer::state_dict() {
  CheckpointData c;
  for (size_t i = 0; i < trainables_.size(); ++i) {
    const auto& name = trainables_[i].first;
    c.tensors["params/" + name] = trainables_[i].second.detach().clone();
    c.tensors["optim/exp_avg/" + name] = opt_->exp_avg()[i].clone();
    c.tensors["optim/exp_avg_sq/" + name] = opt_->exp_avg_sq()[i].clone();
    c.tensors["optim/step/" + name] = at::scalar_tensor(opt_->steps()[i], at::kLong);
  }
  c.ints["step"] = steps_;
  nlohmann::json stats = nlohmann::json::array();  // [[prompt, [rewards...]], ...]
  for (const auto& [prompt, buf] : tracker_.state()) stats.push_back({prompt, std::vector<double>(buf.begin(), buf.end())});
  c.texts["stat_tracker"] = stats.dump();
  return c;
}

void Trainer::load_state_dict(const CheckpointData& c) {
  at::NoGradGuard no_grad;
  const auto params = c.under("params");
  DAG_CHECK(params.size() == trainables_.size(), "checkpoint ", c.source, " holds ", params.size(),
            " trainable tensors, the model has ", trainables_.size(), " (another algorithm or model?)");
  for (size_t i = 0; i < trainables_.size(); ++i) {
    const auto& name = trainables_[i].first;
    auto copy = [&](const std::string& key, at::Tensor dst) {
      const auto& src = c.tensor(key);
      DAG_CHECK(src.sizes() == dst.sizes(), "checkpoint ", c.source, ": ", key, " has shape ", src.sizes(),
                ", the model expects ", dst.sizes(), " (a checkpoint of another model or configuration?)");
      dst.copy_(src);
    };
    copy("params/" + name, trainables_[i].second);
    copy("optim/exp_avg/" + name, opt_->exp_avg()[i]);
    copy("optim/exp_avg_sq/" + name, opt_->exp_avg_sq()[i]);
    // Checkpoints before per-parameter steps hold one count for all (adam_step).
    const std::string step = "optim/step/" + name;
    opt_->steps()[i] = c.tensors.count(step) ? c.tensor(step).item<int64_t>() : c.int_attr("adam_step");
  }
  steps_ = c.int_attr("step");
  std::map<std::string, std::deque<double>> stats;
  for (const auto& entry : nlohmann::json::parse(c.text("stat_tracker"))) {
    auto vals = entry.at(1).get<std::vector<double>>();
    stats[entry.at(0).get<std::string>()] = std::deque<double>(vals.begin(), vals.end());
  }
  tracker_.restore(std::move(stats));
}

void Trainer::optimiser_step(EpochStats& stats) {
  grads_->allreduce_mean(comm_);
  if (cfg_.max_grad_norm > 0) {
    auto norms = grads_->clip_groups(std::vector<double>(grads_->groups(), cfg_.max_grad_norm));
    stats.grad_norm_policy = norms[0];  // of the last step of the epoch
    if (norms.size() > 1) stats.grad_norm_flow = norms[1];
  }
  opt_->step();
  grads_->zero();
  ++steps_;
}

}  // namespace dagalign
