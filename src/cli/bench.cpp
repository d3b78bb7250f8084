#include <cstdio>
#include <functional>
#include <map>

#include "dagalign/cli/commands.h"

namespace dagalign::cli {

namespace {
struct Bench {
  std::function<int(const Args&)> run;
  const char* help;
};
const std::map<std::string, Bench>& benches() {
  static const std::map<std::string, Bench> table = {
      {"fl", {bench_fl, "forward-looking term cached per state vs per transition (any train config): s/update, losses"}},
      {"toy2d", {bench_toy2d, "2-D world: sampling trajectories/s, training transitions/s per objective, FL cache"}},
      {"io", {bench_io, "HDF5 trajectory store vs raw sequential writes (MB/s), deflate sizes"}},
      {"allreduce", {bench_allreduce, "flat-buffer all-reduce vs raw MPI_Allreduce (run under mpirun -np 2)"}},
      {"clip", {bench_clip, "CLIP tokenizer prompts/s and text-encoder forward time"}},
      {"unet", {bench_unet, "UNet forward / forward+backward time, GFLOP/s, peak memory, vs diffusers"}},
  };
  return table;
}
}  // namespace

int bench(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("usage: dagalign bench <what> [options]   (dagalign bench <what> --help)\n\nbenchmarks:\n");
    for (const auto& [name, b] : benches()) std::printf("  %-10s %s\n", name.c_str(), b.help);
    return args.empty() ? 2 : 0;
  }
  auto it = benches().find(args[0]);
  if (it == benches().end()) {
    std::fprintf(stderr, "error: unknown benchmark '%s' (dagalign bench --help lists them)\n", args[0].c_str());
    return 2;
  }
  return it->second.run(Args(args.begin() + 1, args.end()));
}

}  // namespace dagalign::cli
