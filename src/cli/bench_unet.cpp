// dagalign bench unet: UNet forward and forward+backward time, achieved GFLOP/s and peak memory on this CPU,
// next to diffusers (PyTorch) running the same modules on the same machine in the same run.
//   tiny : the whole UNet of tests/data/unet/tiny_conv's shape (channels 32/64, 2 heads, cross 32),
//          batch 4, 16x16 latents, 77 context tokens
//   down0: SD 1.5 down_blocks.0 (CrossAttnDownBlock2D, 320 channels, 2 resnets + 2 transformers + downsampler)
//          at 64x64 latents, batch 1, 77 context tokens of width 768
// FLOPs come from count_unet_flops (models/unet_flops.h; equal to torch's FlopCounterMode):
// forward F, forward+backward 3F (every weight and the input require grad). Time: median of unet.reps runs
// after one warm-up. Peak memory: the rise of the process' peak RSS over the RSS before the run
// (/proc/self/clear_refs "5" resets the peak), i.e. activations + gradients + temporaries, not weights.
// The diffusers side (tools/golden/bench_unet_diffusers.py) is spawned with the same thread count when
// its Python exists and prints one JSON line per case; ratio = diffusers time / dagalign time.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "dagalign/cli/commands.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/models/unet_2d_condition.h"
#include "dagalign/models/unet_flops.h"

namespace dagalign::cli {
namespace {

double status_mb(const std::string& field) {  // VmRSS / VmHWM of this process, MiB
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return -1;
}

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

struct Measure {
  double seconds = 0, peak_mb = 0;
};

Measure measure(const std::function<void()>& fn, int reps) {
  fn();  // warm-up
  std::vector<double> t;
  reset_peak_rss();
  const double base = status_mb("VmRSS");
  for (int r = 0; r < reps; ++r) {
    Stopwatch sw;
    fn();
    t.push_back(sw.seconds());
  }
  Measure m;
  m.seconds = median(t);
  m.peak_mb = status_mb("VmHWM") - base;
  return m;
}

UNetConfig tiny_config() {
  UNetConfig c;
  c.block_out_channels = {32, 64};
  c.down_block_types = {"CrossAttnDownBlock2D", "DownBlock2D"};
  c.up_block_types = {"UpBlock2D", "CrossAttnUpBlock2D"};
  c.layers_per_block = 1;
  c.heads = {2, 2};
  c.cross_attention_dim = 32;
  c.norm_num_groups = 8;
  return c;
}

struct Row {
  std::string name;
  double flops;
  Measure fwd, fwdbwd;
};

}  // namespace

int bench_unet(const Args& args) {
  int threads = 2, reps = 3;
  std::string python = "tools/golden/.venv/bin/python", script = "tools/golden/bench_unet_diffusers.py", cases = "tiny,down0";
  Config cfg("dagalign bench unet");
  cfg.add("unet.threads", &threads, "LibTorch threads (and torch.set_num_threads on the diffusers side)")
      .add("unet.reps", &reps, "timed runs per measurement (median reported), after one warm-up")
      .add("unet.cases", &cases, "which cases: tiny (whole tiny UNet), down0 (SD 1.5 down_blocks.0 at 64x64)")
      .add("unet.python", &python, "Python with diffusers for the comparison ('' to skip)")
      .add("unet.script", &script, "the diffusers-side bench script");
  if (!cfg.parse(args)) {
    std::printf("%s", cfg.help().c_str());
    return 0;
  }
  set_threads(threads);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("dagalign bench unet: LibTorch %s, %d threads, median of %d runs, load average %.1f (other processes share the cores)\n",
              torch_version().c_str(), at::get_num_threads(), reps, load[0]);
  std::vector<Row> rows;
  const auto list = split_list(cases);
  for (const auto& name : list) {
    Row row{name, 0, {}, {}};
    std::function<at::Tensor(bool)> step;  // runs forward, returns the tensor to sum for backward
    std::shared_ptr<torch::nn::Module> module;
    auto gen = make_generator(1);
    if (name == "tiny") {
      const int64_t B = 4, H = 16, W = 16, L = 77;
      UNetConfig c = tiny_config();
      auto unet = UNet2DConditionModel(c);
      module = unet.ptr();
      auto x = at::randn({B, 4, H, W}, gen), ctx = at::randn({B, L, c.cross_attention_dim}, gen);
      auto t = at::full({B}, 500, at::kLong);
      step = [=](bool grad) mutable {
        return unet->forward(grad ? x.detach().requires_grad_(true) : x, t, grad ? ctx.detach().requires_grad_(true) : ctx);
      };
      row.flops = count_unet_flops(c, B, H, W, L).forward;
    } else if (name == "down0") {
      const int64_t B = 1, H = 64, W = 64, L = 77;
      UNetConfig c;  // the defaults are SD 1.5's
      UNetBlockOptions o;
      o.in_channels = o.out_channels = c.block_out_channels[0];
      o.temb_channels = c.time_embed_dim();
      o.num_layers = c.layers_per_block;
      o.with_attention = true;
      o.add_sampler = true;
      o.heads = c.heads[0];
      o.cross_attention_dim = c.cross_attention_dim;
      auto block = UNetDownBlock(o);
      module = block.ptr();
      auto x = at::randn({B, o.in_channels, H, W}, gen), temb = at::randn({B, o.temb_channels}, gen);
      auto ctx = at::randn({B, L, c.cross_attention_dim}, gen);
      step = [=](bool grad) mutable {
        return block->forward(grad ? x.detach().requires_grad_(true) : x, temb, ctx)[0];
      };
      row.flops = count_unet_flops(c, B, H, W, L).modules.at("down_blocks.0");
    } else {
      throw ConfigError(cat("bench unet: unknown case '", name, "' (tiny, down0)"));
    }
    row.fwd = measure(
        [&] {
          at::NoGradGuard ng;
          step(false);
        },
        reps);
    row.fwdbwd = measure(
        [&] {
          module->zero_grad();
          step(true).sum().backward();
        },
        reps);
    rows.push_back(row);
  }

  std::map<std::string, nlohmann::json> py;
  struct stat st;
  if (!python.empty() && stat(python.c_str(), &st) == 0 && stat(script.c_str(), &st) == 0) {
    const std::string cmd = python + " " + script + " --threads " + std::to_string(threads) + " --reps " +
                            std::to_string(reps) + " --cases " + cases + " 2>/dev/null";
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      while (fgets(buf, sizeof buf, p)) {
        try {
          auto j = nlohmann::json::parse(buf);
          py[j.at("case").get<std::string>()] = j;
        } catch (const std::exception&) {
          // not a result line
        }
      }
      pclose(p);
    }
  } else {
    std::printf("(diffusers comparison skipped: %s or %s not found)\n", python.c_str(), script.c_str());
  }

  std::printf("\n| case | GFLOP fwd | fwd ms | fwd GFLOP/s | fwd+bwd ms | fwd+bwd GFLOP/s | peak MiB fwd / fwd+bwd |"
              " diffusers fwd ms | diffusers fwd+bwd ms | diffusers peak MiB fwd / fwd+bwd | time ratio diffusers/dagalign fwd, fwd+bwd |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    std::printf("| %s | %.2f | %.1f | %.1f | %.1f | %.1f | %.0f / %.0f |", r.name.c_str(), r.flops / 1e9,
                r.fwd.seconds * 1e3, r.flops / r.fwd.seconds / 1e9, r.fwdbwd.seconds * 1e3,
                3 * r.flops / r.fwdbwd.seconds / 1e9, r.fwd.peak_mb, r.fwdbwd.peak_mb);
    if (py.count(r.name)) {
      const auto& j = py.at(r.name);
      const double pf = j.at("fwd_s").get<double>(), pb = j.at("fwdbwd_s").get<double>();
      std::printf(" %.1f | %.1f | %.0f / %.0f | %.2f, %.2f |\n", pf * 1e3, pb * 1e3, j.at("fwd_peak_mb").get<double>(),
                  j.at("fwdbwd_peak_mb").get<double>(), pf / r.fwd.seconds, pb / r.fwdbwd.seconds);
    } else {
      std::printf(" - | - | - | - |\n");
    }
  }
  return 0;
}

}  // namespace dagalign::cli
