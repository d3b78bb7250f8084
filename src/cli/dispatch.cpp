#include <cstdio>
#include <functional>
#include <map>

#include <boost/program_options/errors.hpp>

#include "dagalign/cli/commands.h"
#include "dagalign/core/error.h"
#include "dagalign/core/log.h"

namespace dagalign::cli {
namespace {

struct Command {
  std::function<int(const Args&)> run;
  const char* help;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"pretrain", {pretrain, "train the tiny text-to-image model of the shapes world from scratch (diffusers folder)"}},
      {"train", {train, "align a model against a reward (DAG-DB, DAG-KL or DDPO)"}},
      {"bench", {bench, "print throughput figures of one capability (dagalign bench --help)"}},
      {"inspect", {inspect, "describe an HDF5 file of a run: trajectories, checkpoint or metrics"}},
      {"replay", {replay, "train an objective off-policy from stored HDF5 trajectories (--trajectories GLOB)"}},
      {"sample", {sample, "text-to-image grid (PNG + JSON) from a diffusers Stable Diffusion folder, optional LoRA"}},
      {"eval", {eval, "reward, prompt fidelity and diversity of a text-to-image model on a prompt set (JSON + grid)"}},
  };
  return table;
}

void usage() {
  std::printf("dagalign: align diffusion models with black-box rewards using GFlowNets (DAG) or DDPO\n\n"
              "usage: dagalign <command> [--config FILE.ini]... [--section.key value]...\n"
              "       dagalign <command> --help\n\ncommands:\n");
  for (const auto& [name, c] : commands()) std::printf("  %-10s %s\n", name.c_str(), c.help);
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  auto it = commands().find(argv[1]);
  if (it == commands().end()) {
    std::fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
    usage();
    return 2;
  }
  try {
    return it->second.run(Args(argv + 2, argv + argc));
  } catch (const ConfigError& e) {
    log::error(e.what());
    return 2;
  } catch (const std::exception& e) {
    log::error(e.what());
    return 1;
  }
}

}  // namespace dagalign::cli
