#include "dagalign/models/checkpointing.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/custom_class.h>

#include "dagalign/core/error.h"
#include "dagalign/models/autocast.h"

namespace dagalign {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What backward needs besides tensors; kept alive by the autograd context (an IValue capsule).
struct Recompute : torch::CustomClassHolder {
  BlockFn fn;
  std::vector<bool> defined;  // positions of the defined inputs among fn's arguments
  size_t n_inputs = 0;        // defined inputs passed to apply (then the params)
  std::vector<bool> out_defined;  // positions of fn's defined outputs (only those pass through autograd)
  AutocastState autocast;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static variable_list forward(AutogradContext* ctx, c10::intrusive_ptr<Recompute> rc, at::TensorList inputs,
                               at::TensorList params) {
    std::vector<at::Tensor> all(inputs.begin(), inputs.end());
    all.insert(all.end(), params.begin(), params.end());
    ctx->save_for_backward(all);
    ctx->saved_data["rc"] = c10::IValue::make_capsule(rc);
    variable_list out = rc->fn(expand(*rc, inputs));  // grad mode is off here (Function::apply)
    rc->out_defined.clear();
    for (const auto& o : out) rc->out_defined.push_back(o.defined());
    return defined_only(out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto rc = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["rc"].toCapsule());
    variable_list saved = ctx->get_saved_variables();
    const size_t n_in = rc->n_inputs;
    variable_list inputs;
    variable_list targets;  // tensors to differentiate with respect to
    std::vector<int64_t> target_slot;  // their position in the returned gradient list (after rc)
    for (size_t i = 0; i < n_in; ++i) {
      at::Tensor x = saved[i].detach();
      if (saved[i].requires_grad()) {
        x.requires_grad_(true);
        targets.push_back(x);
        target_slot.push_back(static_cast<int64_t>(i));
      }
      inputs.push_back(x);
    }
    for (size_t i = n_in; i < saved.size(); ++i) {
      if (!saved[i].requires_grad()) continue;
      targets.push_back(saved[i]);
      target_slot.push_back(static_cast<int64_t>(i));
    }
    variable_list outputs;
    {
      AutocastGuard autocast(rc->autocast);  // the backward thread's autocast state is not the forward's
      at::AutoGradMode grad(true);
      outputs = defined_only(rc->fn(expand(*rc, inputs)));
    }
    DAG_CHECK(outputs.size() == grad_out.size(), "checkpoint: recomputation returned ", outputs.size(),
              " outputs, forward returned ", grad_out.size());
    variable_list outs, grads;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (!grad_out[i].defined() || !outputs[i].requires_grad()) continue;
      outs.push_back(outputs[i]);
      grads.push_back(grad_out[i]);
    }
    variable_list result(1 + saved.size());  // slot 0: the Recompute argument (no gradient)
    if (outs.empty() || targets.empty()) return result;
    variable_list g = torch::autograd::grad(outs, targets, grads, /*retain_graph=*/false,
                                            /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t k = 0; k < g.size(); ++k) result[1 + target_slot[k]] = g[k];
    return result;
  }

  static variable_list defined_only(const variable_list& v) {
    variable_list out;
    for (const auto& t : v)
      if (t.defined()) out.push_back(t);
    return out;
  }

  // Re-inserts undefined tensors where fn expects them.
  static std::vector<at::Tensor> expand(const Recompute& rc, at::TensorList defined_inputs) {
    std::vector<at::Tensor> args;
    size_t k = 0;
    for (bool d : rc.defined) args.push_back(d ? defined_inputs[k++] : at::Tensor());
    return args;
  }
};

}  // namespace

std::vector<at::Tensor> checkpoint(BlockFn fn, const std::vector<at::Tensor>& inputs,
                                   const std::vector<at::Tensor>& params) {
  bool needs_grad = false;
  for (const auto& x : inputs) needs_grad |= x.defined() && x.requires_grad();
  for (const auto& p : params) needs_grad |= p.requires_grad();
  if (!at::GradMode::is_enabled() || !needs_grad) return fn(inputs);

  auto rc = c10::make_intrusive<Recompute>();
  rc->fn = std::move(fn);
  rc->autocast = AutocastState::current();
  std::vector<at::Tensor> defined_inputs;
  for (const auto& x : inputs) {
    rc->defined.push_back(x.defined());
    if (x.defined()) defined_inputs.push_back(x);
  }
  rc->n_inputs = defined_inputs.size();
  std::vector<at::Tensor> trainable;
  for (const auto& p : params)
    if (p.requires_grad()) trainable.push_back(p);
  variable_list out = CheckpointFunction::apply(rc, at::TensorList(defined_inputs), at::TensorList(trainable));
  std::vector<at::Tensor> all;  // fn's outputs with the undefined ones back in place
  size_t k = 0;
  for (bool d : rc->out_defined) all.push_back(d ? out[k++] : at::Tensor());
  return all;
}

}  // namespace dagalign
