// The text-to-image world over a diffusers folder (random pixel-space weights, diffusers_fixture.h):
// state shape and schedule from the folder, prompts drawn uniformly by each trajectory's own seed, cond /
// uncond equal to an independently loaded pipeline's text encoder, only LoRA factors and the flow
// trainable, the pixel-space decoder, config errors naming keys, and a whole `run_training` writing the
// sample grids, params-final and lora-final (which loads back into a fresh UNet as the trained factors).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <ATen/ATen.h>

#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/io/png.h"
#include "dagalign/models/lora.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/shapes/prompt_sets.h"
#include "dagalign/train/run.h"
#include "dagalign/weights/safetensors.h"
#include "diffusers_fixture.h"

namespace dagalign {
namespace {

namespace fs = std::filesystem;
using testing::RandomPixelFolder;

DiffusersWorldConfig small_config() {
  DiffusersWorldConfig c;
  c.flow_channels = {8, 16};  // the fixture UNet's 2 down blocks (CrossAttn, Down)
  c.flow_heads = 2;
  c.flow_groups = 4;
  c.lora_rank = 2;
  c.lora_alpha = 4;
  return c;
}

std::string message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(DiffusersWorld, ShapeScheduleAndTrainables) {
  at::set_num_threads(1);
  RandomPixelFolder folder("basics");
  auto world = make_diffusers_world(small_config(), folder.dir(), 0);
  EXPECT_EQ(world->state_shape(), (std::vector<int64_t>{3, 16, 16}));
  EXPECT_EQ(world->model_id(), folder.dir());
  EXPECT_EQ(world->schedule().beta_schedule, "scaled_linear");
  EXPECT_DOUBLE_EQ(world->schedule().beta_end, 0.012);
  TrainerConfig tc;
  tc.model = folder.dir();
  tc.schedule.beta_schedule = "linear";
  EXPECT_TRUE(apply_model_schedule(tc));
  EXPECT_EQ(tc.schedule.beta_schedule, "scaled_linear");
  tc.model = "toy2d";
  EXPECT_FALSE(apply_model_schedule(tc));

  // policy: LoRA factors only (2 per adapted layer: the fixture's attentions have to_q/k/v/out.0)
  auto pol = world->policy_trainables();
  ASSERT_FALSE(pol.empty());
  std::map<std::string, int> kinds;
  for (const auto& [name, t] : pol) {
    EXPECT_EQ(name.rfind("policy.", 0), 0u) << name;
    const bool a = name.find(".lora_A.weight") != std::string::npos, b = name.find(".lora_B.weight") != std::string::npos;
    EXPECT_TRUE(a || b) << name;
    kinds[a ? "A" : "B"]++;
    if (a) EXPECT_EQ(t.size(0), 2) << name;  // rank 2
    if (b) EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << name;  // B = 0 at init: the policy starts as the base
  }
  EXPECT_EQ(kinds["A"], kinds["B"]);
  EXPECT_EQ(kinds["A"] % 4, 0);
  EXPECT_EQ(world->policy().trainable_parameters().size(), pol.size());
  auto flow = world->flow_trainables();
  bool head = false;
  for (const auto& [name, t] : flow) {
    EXPECT_EQ(name.rfind("flow.", 0), 0u) << name;
    head |= name == "flow.head.weight";
    EXPECT_TRUE(t.requires_grad()) << name;
  }
  EXPECT_TRUE(head);

  // gradients of the policy's eps reach the LoRA factors only (base and text encoder frozen)
  auto pb = world->prompts({1, 2});
  auto x = at::randn({2, 3, 16, 16}, make_generator(3));
  auto t = at::full({2}, 500, at::kLong);
  world->policy().eps(x, t, pb.cond).pow(2).mean().backward();
  for (const auto& [name, p] : pol) EXPECT_TRUE(p.grad().defined()) << name;
  EXPECT_FALSE(pb.cond.requires_grad());
  // the flow: one scalar per sample
  EXPECT_EQ(world->flow().log_flow(x, t, pb.cond).sizes(), (std::vector<int64_t>{2}));

  // pixel-space decoder: x / 2 + 0.5 clamped
  auto img = world->decode(at::tensor({-3.0f, -1.0f, 0.0f, 0.5f, 5.0f}).view({1, 1, 1, 5}).expand({1, 3, 1, 5}));
  EXPECT_TRUE(at::allclose(img[0][2][0], at::tensor({0.0f, 0.0f, 0.5f, 0.75f, 1.0f})));
}

// flow.state_input = false: log F~ reads the timestep and the prompt only (the same value for any state),
// from the same initial weights as the state-reading flow (whose value does change with the state).
TEST(DiffusersWorld, FlowWithoutStateInputReadsOnlyTimestepAndPrompt) {
  at::set_num_threads(1);
  RandomPixelFolder folder("flowstate");
  auto cfg = small_config();
  auto with_state = make_diffusers_world(cfg, folder.dir(), 0);
  cfg.flow_state_input = false;
  auto without = make_diffusers_world(cfg, folder.dir(), 0);
  auto pb = with_state->prompts({1, 1, 2});
  auto x1 = at::randn({3, 3, 16, 16}, make_generator(3)), x2 = at::randn({3, 3, 16, 16}, make_generator(4));
  auto t = at::tensor({500, 500, 500}, at::kLong), t2 = at::tensor({100, 500, 500}, at::kLong);
  at::NoGradGuard no_grad;
  auto a = without->flow().log_flow(x1, t, pb.cond), b = without->flow().log_flow(x2, t, pb.cond);
  EXPECT_TRUE(at::equal(a, b)) << a << b;
  EXPECT_EQ(a[0].item<float>(), a[1].item<float>());  // same prompt, same timestep
  EXPECT_NE(a[0].item<float>(), a[2].item<float>());  // another prompt
  EXPECT_NE(a[0].item<float>(), without->flow().log_flow(x1, t2, pb.cond)[0].item<float>());  // another timestep
  // the same weights read the state: zeros in, the state-free value out; a state in, another value out
  EXPECT_TRUE(at::equal(with_state->flow().log_flow(at::zeros_like(x1), t, pb.cond), a));
  EXPECT_FALSE(at::allclose(with_state->flow().log_flow(x1, t, pb.cond), with_state->flow().log_flow(x2, t, pb.cond)));
}

TEST(DiffusersWorld, PromptsBySeedAndTheirEmbeddings) {
  at::set_num_threads(1);
  RandomPixelFolder folder("prompts");
  const std::string file = folder.dir() + "/prompts.txt";
  std::ofstream(file) << "  a red circle on a blue background \n\n" << "a cat\r\n" << "two dogs\n" << "\t\n" << "a tree\n";
  auto cfg = small_config();
  cfg.prompts = file;
  auto world = make_diffusers_world(cfg, folder.dir(), 0);
  const std::vector<std::string> expect{"a red circle on a blue background", "a cat", "two dogs", "a tree"};
  EXPECT_EQ(world->prompt_list(), expect);

  // each trajectory's prompt depends on its own seed only, and the draw is uniform
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < 4000; ++i) seeds.push_back(stream_seed(7, Purpose::kPrompt, 0, i));
  std::map<std::string, int> count;
  for (size_t lo = 0; lo < seeds.size(); lo += 500) {
    auto b = world->prompts(std::vector<uint64_t>(seeds.begin() + lo, seeds.begin() + lo + 500));
    for (const auto& p : b.prompts) count[p]++;
  }
  ASSERT_EQ(count.size(), 4u);
  for (const auto& [p, n] : count) EXPECT_NEAR(n, 1000, 4 * std::sqrt(4000 * 0.25 * 0.75)) << p;  // 4 sigma
  auto one = world->prompts({seeds[17]});
  auto batch = world->prompts({seeds[3], seeds[17], seeds[17]});
  EXPECT_EQ(one.prompts[0], batch.prompts[1]);
  EXPECT_EQ(batch.prompts[1], batch.prompts[2]);
  EXPECT_EQ(batch.cond.sizes(), (std::vector<int64_t>{3, 77, 32}));
  EXPECT_EQ(batch.ids.sizes(), (std::vector<int64_t>{3, 77}));

  // cond / uncond equal the text encoder of an independently loaded pipeline, run on one prompt at a time as
  // the world does (a batch of several would round differently under some BLAS kernels)
  SDPipeline ref = SDPipeline::load(folder.dir());
  auto alone = [&](const std::string& p) { return ref.encode_prompts({p})[0]; };
  for (size_t i = 0; i < batch.prompts.size(); ++i)
    EXPECT_TRUE(at::equal(batch.cond[int64_t(i)], alone(batch.prompts[i]))) << batch.prompts[i];
  EXPECT_TRUE(at::equal(batch.ids, ref.tokenizer.encode_batch(batch.prompts)));
  EXPECT_TRUE(at::equal(world->uncond()[0], alone("")));
  EXPECT_EQ(world->uncond().size(0), 1);
  auto enc = world->encode({"a tree", "a cat"});
  EXPECT_TRUE(at::equal(enc.cond[0], alone("a tree")) && at::equal(enc.cond[1], alone("a cat")));
  // and a batch of prompts through the reference differs from them by rounding only
  EXPECT_LE((enc.cond - ref.encode_prompts({"a tree", "a cat"})).abs().max().item<double>(), 1e-5);

  // the named sets of the tiny world
  EXPECT_EQ(load_prompt_list("train"), shapes::prompt_set("train"));
  EXPECT_EQ(load_prompt_list("heldout").size(), 56u);
}

TEST(DiffusersWorld, ConfigErrorsNameKeys) {
  at::set_num_threads(1);
  RandomPixelFolder folder("errors");
  auto has = [](const std::string& msg, const std::string& needle) {
    return msg.find(needle) != std::string::npos;
  };
  std::string m = message([&] { load_prompt_list(folder.dir() + "/none.txt"); });
  EXPECT_TRUE(has(m, "model.prompts") && has(m, "none.txt")) << m;
  std::ofstream(folder.dir() + "/empty.txt") << "\n  \n";
  m = message([&] { load_prompt_list(folder.dir() + "/empty.txt"); });
  EXPECT_TRUE(has(m, "holds no prompt")) << m;

  auto cfg = small_config();
  cfg.flow_channels = {8, 16, 16};  // 3 flow blocks, the UNet has 2: block_types = unet cannot apply
  auto lazy = make_diffusers_world(cfg, folder.dir(), 0);  // the flow is built on first use (DDPO never asks)
  EXPECT_FALSE(lazy->policy_trainables().empty());
  m = message([&] { lazy->flow_trainables(); });
  EXPECT_TRUE(has(m, "flow.block_types")) << m;
  cfg.flow_block_types = "dag";
  EXPECT_NO_THROW(make_diffusers_world(cfg, folder.dir(), 0)->flow_trainables());
  {  // typed lists are parsed when the configuration is loaded
    DiffusersWorldConfig parsed;
    auto parse = [&](const std::string& ini) {
      Config c("test");
      parsed.add_to(c);
      c.parse_ini_text(ini, "test.ini");
    };
    m = message([&] { parse("[flow]\nchannels = 8,x\n"); });
    EXPECT_TRUE(has(m, "flow.channels") && has(m, "'x'")) << m;
    m = message([&] { parse("[flow]\nchannels = 8,0\n"); });
    EXPECT_TRUE(has(m, "flow.channels") && has(m, "> 0")) << m;
    parse("[flow]\nchannels = 8, 16,32\n[model]\nlora_targets = to_q, ff.net.2\n");
    EXPECT_EQ(parsed.flow_channels, (std::vector<int64_t>{8, 16, 32}));
    EXPECT_EQ(parsed.lora_targets, (std::vector<std::string>{"to_q", "ff.net.2"}));
  }
  cfg = small_config();
  cfg.reward = "nope";
  m = message([&] { make_diffusers_world(cfg, folder.dir(), 0); });
  EXPECT_TRUE(has(m, "reward.name")) << m;
  cfg = small_config();
  cfg.lora_targets = {"to_q", "not_a_layer"};
  m = message([&] { make_diffusers_world(cfg, folder.dir(), 0); });
  EXPECT_TRUE(has(m, "not_a_layer")) << m;

  EXPECT_EQ(flow_cross_attention("dag", 3, {}), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(flow_cross_attention("unet", 2, {"DownBlock2D", "CrossAttnDownBlock2D"}), (std::vector<bool>{false, true}));
  EXPECT_EQ(flow_cross_attention("DownBlock2D,CrossAttnDownBlock2D,DownBlock2D", 3, {}),
            (std::vector<bool>{false, true, false}));
  EXPECT_THROW(flow_cross_attention("DownBlock2D,Attn", 2, {}), ConfigError);

  // model.path dispatch
  RunInputs in;
  in.train.model = folder.dir();
  in.diffusers = small_config();
  EXPECT_EQ(make_world(in)->model_id(), folder.dir());
  in.train.model = folder.dir() + "/unet";  // a directory without model_index.json
  m = message([&] { make_world(in); });
  EXPECT_TRUE(has(m, "model.path") && has(m, "model_index.json")) << m;
}

TEST(DiffusersWorld, RunWritesGridsParamsAndLora) {
  at::set_num_threads(1);
  RandomPixelFolder folder("run");
  const std::string dir = folder.dir() + "/run";
  RunInputs in;
  Config c("test");
  in.train.add_to(c);
  in.toy2d.add_to(c);
  in.diffusers.add_to(c);
  c.parse_ini_text(cat("[run]\ndir = ", dir, "\nresume = none\npreview_prompts = 2\npreview_seeds = 3\n"
                       "[model]\npath = ", folder.dir(), "\nlora_rank = 2\nlora_alpha = 4\n"
                       "[flow]\nchannels = 8,16\nheads = 2\ngroups = 4\n"
                       "[sample]\nsteps = 3\nbatch_size = 4\nbatches_per_epoch = 1\nguidance = 2\n"
                       "[train]\nepochs = 2\nbatch_size = 2\ngrad_accum = 1\nlr = 1e-2\nanneal = none\n"
                       "reward_exp = 10\n"),
                   "test.ini");
  in.train.finalize();
  in.resolved_config = c.resolved();
  auto comm = make_self_communicator();
  ASSERT_EQ(run_training(in, *comm), 0);
  for (const char* f : {"samples-before.png", "samples-after.png", "params-final.safetensors", "lora-final.safetensors",
                        "config.ini", "metrics.jsonl"})
    EXPECT_TRUE(fs::exists(fs::path(dir) / f)) << f;
  // every checkpoint has the policy's LoRA beside it; the last one's is lora-final's
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/epoch-000001.lora.safetensors"));
  EXPECT_EQ(read_safetensors(dir + "/checkpoints/epoch-000002.lora.safetensors").size(),
            read_safetensors(dir + "/lora-final.safetensors").size());
  for (const auto& [k, t] : read_safetensors(dir + "/lora-final.safetensors"))
    EXPECT_TRUE(t.equal(read_safetensors(dir + "/checkpoints/epoch-000002.lora.safetensors").at(k))) << k;
  // grids: 2 prompts x 3 seeds of 16x16 images, upscaled to cells of >= 128 px, with labels
  auto before = read_png(dir + "/samples-before.png"), after = read_png(dir + "/samples-after.png");
  EXPECT_EQ(before.sizes(), after.sizes());
  EXPECT_GE(before.size(1), 3 * 128);
  EXPECT_FALSE(at::equal(before, after));  // 4 optimiser steps at lr 1e-2 moved the policy
  std::ifstream side(dir + "/samples-before.png.json");
  auto j = nlohmann::json::parse(side);
  ASSERT_EQ(j.at("cells").size(), 6u);
  EXPECT_NE(j.at("cells")[0].dump().find("r="), std::string::npos) << j.dump();

  // lora-final holds the trained factors of params-final, in diffusers' format: loaded into a fresh UNet
  // it reproduces every policy tensor
  auto params = read_safetensors(dir + "/params-final.safetensors");
  SDPipeline fresh = SDPipeline::load(folder.dir());
  const size_t layers = load_lora(dir + "/lora-final.safetensors", *fresh.unet);
  size_t policy = 0, trained = 0;
  std::map<std::string, at::Tensor> loaded;
  for (const auto& p : fresh.unet->named_parameters()) loaded[p.key()] = p.value();
  for (const auto& [name, t] : params) {
    if (name.rfind("policy.", 0) != 0) continue;
    ++policy;
    const std::string path = name.substr(7);
    ASSERT_TRUE(loaded.count(path)) << path;
    EXPECT_LE((loaded[path] - t).abs().max().item<double>(), 1e-6 * (1 + t.abs().max().item<double>())) << path;
    if (path.find("lora_B") != std::string::npos && t.abs().max().item<double>() > 0) ++trained;
  }
  EXPECT_EQ(policy, 2 * layers);
  EXPECT_GT(trained, 0u);
  bool has_flow = false;
  for (const auto& [name, t] : params) has_flow |= name.rfind("flow.", 0) == 0;
  EXPECT_TRUE(has_flow);
}

}  // namespace
}  // namespace dagalign
