#pragma once
// HDF5 trajectory store (schema v1, docs/hdf5-schema.md): one file per rank per segment,
// runs/<name>/trajectories/seg-000005.rank-000.h5, holding TrajectoryBatch rows in N-major extendible
// datasets. The writer holds the file in memory and publishes it (path.tmp renamed over path) after every
// appended batch, so that whenever the process dies the file is readable and holds every batch whose
// append() returned. Readers validate schema, presence and shapes, and name the file and the
// dataset in every error. A global view over all ranks and segments: TrajectorySet (a glob of files)
// and trajectories/index.h5 (a table of files and rows plus one virtual dataset per numeric dataset).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dagalign/diffusion/trajectory.h"

namespace dagalign {

inline constexpr int64_t kTrajectorySchemaVersion = 1;

// Root attributes of a trajectory file (config: the resolved config, stored as the /config dataset).
struct TrajectoryFileMeta {
  std::string run_name;
  int64_t rank = 0, world_size = 1, segment = 0;
  std::string model_id;            // must match on replay (TrajectoryExpect::model_id)
  std::string scheduler = "ddim";  // scheduler name
  int64_t steps = 0;               // T, denoising steps per trajectory
  double eta = 1.0, guidance = 1.0;
  std::string algorithm;           // dag-db | dag-kl | ddpo
  std::string config;              // resolved configuration (INI text)
  // Filled by the writer / read back by the reader:
  std::string git_revision;        // dagalign::git_revision() of the writing binary
  int64_t schema_version = kTrajectorySchemaVersion;
  int64_t n_trajectories = 0;
  int64_t policy_version_min = 0, policy_version_max = -1;  // range of policy_version written (max < min: none)
  std::string latents_dtype;       // "float32" | "float16"
};

struct TrajectoryStoreOptions {
  int deflate = 0;           // gzip level 0..9 (with shuffle) on every dataset; 0 = no filter
  bool float16 = false;      // latents, eps and cond stored as float16 (read back as float32)
  bool eps = true;           // store batch.eps when defined
  bool cond = true;          // store batch.cond when defined
  bool images = true;        // store batch.images when defined
  bool fsync = false;        // also fsync each published file and its folder (survives a node crash, not only SIGKILL)
  // Chunk = one trajectory (one row) for datasets whose row is at least this many bytes; smaller rows
  // (rewards, seeds, log-probs of small T) are grouped up to this size (at most 1024 rows per chunk).
  // Small: a chunk is allocated whole, so a file of few trajectories costs about one chunk per dataset.
  int64_t chunk_bytes = 16 << 10;
};

// Writes one trajectory file. The datasets are created by the first append() (their shapes come from
// the batch); later batches must have the same fields present and the same trailing shapes.
class TrajectoryWriter {
 public:
  TrajectoryWriter(const std::string& path, const TrajectoryFileMeta& meta, const TrajectoryStoreOptions& opt = {});
  // Continues an existing file after a resume: keeps its leading rows whose policy_version is below
  // keep_before_version (rows are appended in sampling order, so versions never decrease), drops the
  // rest (written after the checkpoint the run resumes from) and appends after them. The attributes and
  // dataset layout are the file's; opt supplies fsync and which optional fields to keep.
  static TrajectoryWriter reopen(const std::string& path, int64_t keep_before_version,
                                 const TrajectoryStoreOptions& opt = {});
  ~TrajectoryWriter();  // closes; errors are logged, not thrown
  TrajectoryWriter(TrajectoryWriter&&) noexcept;
  TrajectoryWriter& operator=(TrajectoryWriter&&) noexcept;

  // Appends the batch's rows, updates n_trajectories and the policy version range, publishes the file.
  void append(const TrajectoryBatch& batch);
  int64_t rows() const;
  const std::string& path() const;
  void close();  // flushes and closes; throws on failure

 private:
  TrajectoryWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// runs/<name>/trajectories/seg-000005.rank-000.h5
std::string trajectory_segment_path(const std::string& run_dir, int64_t segment, int64_t rank);

// What a reader requires of a file besides the schema (empty / negative: no requirement).
struct TrajectoryExpect {
  std::string model_id;              // must equal the file's model_id
  std::vector<int64_t> state_shape;  // must equal the latents' trailing shape S
  int64_t steps = -1;                // must equal T
};

// Reads one trajectory file after validating it: schema_version == 1, kind == "trajectories", required
// datasets present (latents timesteps log_pf log_pb rewards prompts seed policy_version), shapes
// consistent with N and T, and the expectations. Rows = n_trajectories (if a dataset holds fewer rows,
// a torn final append, the reader warns and uses the common prefix).
class TrajectoryReader {
 public:
  explicit TrajectoryReader(const std::string& path, const TrajectoryExpect& expect = {});
  ~TrajectoryReader();
  TrajectoryReader(TrajectoryReader&&) noexcept;

  const std::string& path() const;
  const TrajectoryFileMeta& meta() const;  // meta().config holds the stored config text
  int64_t rows() const;
  std::vector<int64_t> state_shape() const;
  // Rows [begin, begin+count) (count < 0: to the end); float16 storage comes back as float32.
  TrajectoryBatch read(int64_t begin = 0, int64_t count = -1) const;
  // Only the given rows (any order, repeats allowed).
  TrajectoryBatch read_rows(const std::vector<int64_t>& rows) const;
  at::Tensor rewards() const;  // (N,) float32, without reading the latents

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Files matching a glob pattern, sorted; throws Error naming the pattern when none match.
std::vector<std::string> glob_files(const std::string& pattern);

// The global view over many files (all ranks, all segments): rows numbered file after file in sorted
// path order. Files are opened on demand; the per-file row counts are read once at construction.
// Index files (kind "trajectory-index") matched by the glob are skipped.
class TrajectorySet {
 public:
  struct Entry {
    std::string path;
    TrajectoryFileMeta meta;
    int64_t rows = 0, first_row = 0;
  };
  explicit TrajectorySet(const std::string& glob, const TrajectoryExpect& expect = {});
  explicit TrajectorySet(const std::vector<std::string>& files, const TrajectoryExpect& expect = {});
  int64_t rows() const { return rows_; }
  const std::vector<Entry>& files() const { return files_; }
  at::Tensor rewards() const;                                    // (rows,) float32
  at::Tensor policy_versions() const;                            // (rows,) int64
  TrajectoryBatch read_all() const;
  TrajectoryBatch gather(const std::vector<int64_t>& rows) const;  // global row indices, any order

 private:
  std::vector<Entry> files_;
  TrajectoryExpect expect_;
  int64_t rows_ = 0;
};

// Reads a file or a glob of files into one batch (rows concatenated in sorted path order).
TrajectoryBatch read_trajectories(const std::string& path_or_glob, const TrajectoryExpect& expect = {});

// Writes run_dir/trajectories/index.h5 (atomically, via index.h5.tmp): datasets files (paths relative
// to trajectories/), segment, rank, rows, first_row, and one virtual dataset per numeric dataset
// mapping rows [first_row, first_row+rows) onto each file (readable as one array with h5py).
// Build it after the segments are closed (a virtual dataset shows fill values where a source file
// cannot be opened). Unreadable files are skipped with a warning. Returns the number of files indexed.
int64_t write_trajectory_index(const std::string& run_dir);

}  // namespace dagalign
