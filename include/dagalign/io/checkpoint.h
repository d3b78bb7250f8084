#pragma once
// HDF5 checkpoints (docs/hdf5-schema.md): named tensors in groups ("params/<name>",
// "optim/exp_avg/<name>", "rng/rank-000" as uint8), integer/real/string root attributes (epoch, step),
// long texts as string datasets (the resolved config). Written atomically: NAME.h5.tmp, H5Fflush + close,
// fsync, rename, fsync of the directory; the root attribute complete = 1 is written last. Only the last K
// are kept. checkpoint::find_latest_valid() skips truncated, corrupt or incomplete files with a warning.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

inline constexpr int64_t kCheckpointSchemaVersion = 1;

struct CheckpointData {
  std::map<std::string, at::Tensor> tensors;   // path -> tensor; '/' separates groups
  std::map<std::string, int64_t> ints;         // root attributes (epoch, step, ...)
  std::map<std::string, double> reals;         // root attributes
  std::map<std::string, std::string> strings;  // root attributes (short)
  std::map<std::string, std::string> texts;    // scalar string datasets (long: config)
  std::string git_revision, created;           // filled by read(); written automatically

  // Accessors that throw Error naming the missing entry (and `source`, the file, when set).
  const at::Tensor& tensor(const std::string& name) const;
  int64_t int_attr(const std::string& name) const;
  double real_attr(const std::string& name) const;
  const std::string& string_attr(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  // Tensors under "prefix/" with the prefix removed (e.g. under("params") -> {"lora.down.weight": t}).
  std::map<std::string, at::Tensor> under(const std::string& prefix) const;
  std::string source;  // the file read() read
};

namespace checkpoint {

struct Options {
  int keep_last = 0;  // > 0: after writing, delete all but the newest keep_last epoch-*.h5 of the folder
  bool fsync = true;  // fsync the file and its folder (durable across a node crash)
};

// dir/epoch-000010.h5
std::string path(const std::string& dir, int64_t epoch);
// Atomic write of `data` to file (see above); creates the folder and points the symlink
// <folder>/latest.h5 at the new file. Names reserved for the format
// (schema_version, kind, complete, created, git_revision) may not be used as attribute names.
void write(const std::string& file, const CheckpointData& data, const Options& opt = {});
// Reads and validates (schema_version, kind, complete marker, every dataset readable); throws Error
// naming the file and the reason.
CheckpointData read(const std::string& file);
// Empty if the file is a valid checkpoint, else the reason (for reports).
std::string check(const std::string& file);
// The newest valid dir/epoch-*.h5 (by epoch number), skipping invalid ones with a warning naming the
// file and why; nullopt if none.
std::optional<std::string> find_latest_valid(const std::string& dir);
// dir/epoch-*.h5 sorted by epoch, oldest first.
std::vector<std::pair<int64_t, std::string>> list(const std::string& dir);
// Deletes all but the newest keep_last checkpoints of dir (keep_last <= 0: none deleted).
void prune(const std::string& dir, int keep_last);

}  // namespace checkpoint
}  // namespace dagalign
