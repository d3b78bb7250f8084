#include "dagalign/train/state.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"

namespace dagalign {

CheckpointData capture_state(Trainer& trainer, int next_epoch, const std::string& config_text) {
  CheckpointData c;
  const auto& named = trainer.trainables();
  for (size_t i = 0; i < named.size(); ++i) {
    c.tensors["params/" + named[i].first] = named[i].second.detach().clone();
    c.tensors["optim/exp_avg/" + named[i].first] = trainer.optimizer().exp_avg()[i].clone();
    c.tensors["optim/exp_avg_sq/" + named[i].first] = trainer.optimizer().exp_avg_sq()[i].clone();
  }
  c.ints["epoch"] = next_epoch;
  c.ints["step"] = trainer.steps();
  c.ints["adam_step"] = trainer.optimizer().steps();
  nlohmann::json stats = nlohmann::json::array();  // [[prompt, [rewards...]], ...]
  for (const auto& [prompt, buf] : trainer.stat_tracker().state())
    stats.push_back({prompt, std::vector<double>(buf.begin(), buf.end())});
  c.texts["stat_tracker"] = stats.dump();
  c.texts["config"] = config_text;
  return c;
}

int restore_state(Trainer& trainer, const CheckpointData& c) {
  at::NoGradGuard no_grad;
  const auto& named = trainer.trainables();
  for (size_t i = 0; i < named.size(); ++i) {
    auto copy = [&](const std::string& key, at::Tensor dst) {
      const auto& src = c.tensor(key);
      DAG_CHECK(src.sizes() == dst.sizes(), "checkpoint ", c.source, ": ", key, " has shape ", src.sizes(),
                ", the model expects ", dst.sizes(), " (a checkpoint of another model or configuration?)");
      dst.copy_(src);
    };
    copy("params/" + named[i].first, named[i].second);
    copy("optim/exp_avg/" + named[i].first, trainer.optimizer().exp_avg()[i]);
    copy("optim/exp_avg_sq/" + named[i].first, trainer.optimizer().exp_avg_sq()[i]);
  }
  const auto params = c.under("params");
  DAG_CHECK(params.size() == named.size(), "checkpoint ", c.source, " holds ", params.size(),
            " trainable tensors, the model has ", named.size(), " (another algorithm or model?)");
  trainer.set_steps(c.int_attr("step"));
  trainer.optimizer().set_steps(c.int_attr("adam_step"));
  std::map<std::string, std::deque<double>> stats;
  for (const auto& entry : nlohmann::json::parse(c.text("stat_tracker"))) {
    auto vals = entry.at(1).get<std::vector<double>>();
    stats[entry.at(0).get<std::string>()] = std::deque<double>(vals.begin(), vals.end());
  }
  trainer.stat_tracker().restore(std::move(stats));
  return static_cast<int>(c.int_attr("epoch"));
}

}  // namespace dagalign
