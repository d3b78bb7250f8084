#include "dagalign/train/train_config.h"

#include <cmath>

#include "dagalign/core/error.h"

namespace dagalign {

void TrainerConfig::add_to(Config& c) {
  c.add("run.name", &run.name, "run name (stored in every file the run writes)")
      .add("run.dir", &run.dir, "run directory")
      .add("run.seed", &run.seed, "seed of every random stream")
      .add("run.threads", &run.threads, "LibTorch threads per rank (0: cores / ranks on the host)", at_least(0))
      .add("run.resume", &run.resume, "auto (newest valid checkpoint in run.dir), none, or a checkpoint file")
      .add("run.preempt_signal", &run.preempt_signal, preempt_signals(),
           "signal that asks for checkpoint-and-exit (exit code 75)")
      .add("run.checkpoint_every", &run.checkpoint_every, "epochs between checkpoints", positive())
      .add("run.keep_checkpoints", &run.keep_checkpoints, "checkpoints kept (0: all)", at_least(0))
      .add("run.save_trajectories", &run.save_trajectories, "write trajectories to HDF5")
      .add("run.trajectory_deflate", &run.trajectory_deflate, "deflate level of trajectory files (0: off)", in_range(0, 9))
      .add("run.preview_prompts", &run.preview_prompts,
           "text-to-image: prompts (rows) of samples-before.png / samples-after.png (0: no grids)", at_least(0))
      .add("run.preview_seeds", &run.preview_seeds,
           "text-to-image: seeds (columns) of the sample grids, the same before and after training", at_least(0))
      .add("model.path", &model, "toy2d, or a diffusers folder (model_index.json, unet/, text_encoder/, ...)")
      .add("schedule.num_train_timesteps", &schedule.num_train_timesteps,
           "N (schedule.*: toy2d; a diffusers folder brings its own scheduler/scheduler_config.json)", at_least(2))
      .add("schedule.beta_start", &schedule.beta_start, "first beta", in_range(0, 1, true))
      .add("schedule.beta_end", &schedule.beta_end, "last beta", in_range(0, 1, true))
      .add("schedule.beta_schedule", &schedule.beta_schedule, beta_schedules(), "betas between the two")
      .add("schedule.steps_offset", &schedule.steps_offset, "DDIM steps_offset", at_least(0))
      .add("sample.steps", &sampler.steps, "DDIM steps per trajectory", positive())
      .add("sample.eta", &sampler.eta, "DDIM eta (> 0: the log-probabilities need a stochastic step)", positive())
      .add("sample.guidance", &sampler.guidance, "classifier-free guidance scale (also at training)")
      .add("sample.log_prob_reduce", &sampler.reduce, {{"mean", LogProbReduce::kMean}, {"sum", LogProbReduce::kSum}},
           "log-probabilities as the mean (official code) or the sum over state dimensions")
      .add("sample.batch_size", &sample_batch_size, "trajectories per sampling batch, per rank", positive())
      .add("sample.batches_per_epoch", &sample_batches, "sampling batches per epoch, per rank", positive())
      .add("train.epochs", &epochs, "epochs (sample, then train on what was sampled)", positive())
      .add("train.batch_size", &batch_size, "trajectories per training micro-batch, per rank", positive())
      .add("train.grad_accum", &grad_accum, "micro-batches per optimiser step", positive())
      .add("train.max_grad_norm", &max_grad_norm, "gradient-norm clip, policy and flow separately (0: off)", at_least(0))
      .add("train.lr", &adam.lr, "AdamW learning rate", positive())
      .add("train.lr_decay", &lr_decay, {{"none", LrDecay::kNone}, {"cosine", LrDecay::kCosine}},
           "learning-rate schedule over the epochs: constant, or lr (1 + cos(pi e / epochs)) / 2 in 0-based "
           "epoch e, for the policy and the flow alike")
      .add("train.flow_lr", &flow_lr,
           "AdamW learning rate of the DAG flow network (0: train.lr, as DAG's code, whose unused yaml key "
           "flow_learning_rate names the same idea); a flow that must output log-flows of tens of nats fits "
           "faster with a larger one", at_least(0))
      .add("train.flow_warmup_epochs", &flow_warmup_epochs,
           "DAG: epochs at the start that train only the flow network (the policy's lr is 0), so that the "
           "DB residual is not dominated by an unfitted flow when the policy starts to move (0: none, as DAG)",
           at_least(0))
      .add("train.beta1", &adam.beta1, "AdamW beta1", in_range(0, 1, true))
      .add("train.beta2", &adam.beta2, "AdamW beta2", in_range(0, 1, true))
      .add("train.adam_eps", &adam.eps, "AdamW epsilon", positive())
      .add("train.weight_decay", &adam.weight_decay, "AdamW decoupled weight decay", at_least(0))
      .add("train.replay_fraction", &replay_fraction,
           "share of each update's trajectories drawn from this rank's stored trajectories of earlier epochs "
           "(uniform, distinct rows), added to the on-policy ones; 0: on-policy only", in_range(0, 1, true))
      .add("train.per_prompt_stats", &per_prompt_stats, "DDPO: per-prompt reward statistics")
      .add("train.stat_buffer", &stat_buffer, "DDPO: rewards kept per prompt", positive())
      .add("train.stat_min_count", &stat_min_count, "DDPO: rewards needed before per-prompt statistics apply",
           at_least(0));
  objective.add_to(c);
}

void TrainerConfig::finalize() {
  if (flow_warmup_epochs >= epochs)
    throw ConfigError(cat("train.flow_warmup_epochs must be < train.epochs (", epochs, "), found ", flow_warmup_epochs));
  if (replay_fraction > 0 && !run.save_trajectories)
    throw ConfigError("train.replay_fraction > 0 replays the run's stored trajectories: run.save_trajectories must be true");
  const int per_update = batch_size * grad_accum;
  if (trajectories_per_epoch() % per_update != 0)
    throw ConfigError(cat("sample.batch_size * sample.batches_per_epoch (", trajectories_per_epoch(),
                          ") must be a multiple of train.batch_size * train.grad_accum (", per_update, ")"));
  if (objective.algorithm == Algorithm::kDagKl && batch_size < 2)
    throw ConfigError(cat("train.batch_size must be >= 2 for dagkl (leave-one-out baseline), found ", batch_size));
}

double TrainerConfig::lr_at(int epoch) const {
  if (lr_decay == LrDecay::kNone) return adam.lr;
  return adam.lr * 0.5 * (1 + std::cos(M_PI * epoch / epochs));
}

}  // namespace dagalign
