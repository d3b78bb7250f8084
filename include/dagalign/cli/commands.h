#pragma once
// The subcommands of `dagalign`. Each takes the arguments after its name and returns the exit code.
// Add a command: declare it here, define it in src/cli/<name>.cpp, list it in src/cli/dispatch.cpp.
#include <string>
#include <vector>

namespace dagalign::cli {

using Args = std::vector<std::string>;

int run(int argc, char** argv);  // parses argv[1] as the subcommand; prints errors; returns exit code

int train(const Args& args);
int pretrain(const Args& args);  // dagalign pretrain: the tiny text-to-image model from scratch (src/cli/pretrain.cpp)
int bench(const Args& args);     // dagalign bench <what>; the benches are listed in src/cli/bench.cpp
int bench_toy2d(const Args& args);  // dagalign bench toy2d (src/cli/bench_toy2d.cpp)
int bench_fl(const Args& args);  // dagalign bench fl: forward-looking cache vs official form on a train config's world (src/cli/bench_fl.cpp)
int bench_allreduce(const Args& args);  // dagalign bench allreduce (src/cli/bench_allreduce.cpp; mpirun -np 2)

int inspect(const Args& args);   // dagalign inspect FILE.h5: schema, counts, datasets, statistics, config
int replay(const Args& args);    // dagalign replay --trajectories GLOB: off-policy training (src/cli/replay.cpp)
int sample(const Args& args);    // dagalign sample: text-to-image grid from a diffusers SD folder (src/cli/sample.cpp)
int bench_io(const Args& args);  // dagalign bench io: HDF5 trajectory write throughput vs raw writes (src/cli/bench_io.cpp)
int bench_clip(const Args& args);  // dagalign bench clip: CLIP tokenizer prompts/s, text-encoder forward (src/cli/bench_clip.cpp)
int bench_unet(const Args& args);  // dagalign bench unet: UNet fwd / fwd+bwd time, GFLOP/s, peak memory vs diffusers (src/cli/bench_unet.cpp)
int eval(const Args& args);      // dagalign eval: reward, prompt fidelity, diversity of a model on a prompt set (src/cli/eval.cpp)

}  // namespace dagalign::cli
