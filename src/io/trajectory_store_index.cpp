// trajectories/index.h5: the global view over all ranks and segments of a run, for h5py users.
// A table (files, segment, rank, rows, first_row) and one virtual dataset (VDS) per numeric dataset that
// every indexed file holds with the same trailing shape and type: index.h5["rewards"][:] reads the
// rewards of the whole run. Source file names are relative (same folder), so a run folder can move.
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/io/hdf5.h"
#include "dagalign/io/trajectory_store.h"

namespace dagalign {
namespace fs = std::filesystem;

namespace {
const char* kVirtual[] = {"latents", "timesteps", "log_pf", "log_pb", "eps",           "rewards",
                          "cond",    "prompt_ids", "seed",  "policy_version", "images"};

struct Source {
  std::string name;  // file name, relative to trajectories/
  int64_t segment = 0, rank = 0, rows = 0, first_row = 0;
};
}  // namespace

int64_t write_trajectory_index(const std::string& run_dir) {
  const fs::path dir = fs::path(run_dir) / "trajectories";
  std::vector<std::string> names;
  const std::regex pat(R"(seg-\d+\.rank-\d+\.h5)");
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (std::regex_match(e.path().filename().string(), pat)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());

  std::vector<Source> src;
  int64_t total = 0;
  for (const auto& n : names) {
    try {
      TrajectoryReader r((dir / n).string());
      src.push_back({n, r.meta().segment, r.meta().rank, r.rows(), total});
      total += r.rows();
    } catch (const Error& e) {
      log::warn(cat("trajectory index: skipping ", (dir / n).string(), ": ", e.what()));
    }
  }

  // Virtual datasets: those present with equal trailing shape and type in every file with rows.
  struct Vds {
    std::vector<int64_t> trailing;
    std::string type_name;
    h5::Datatype type;
    bool ok = true;
  };
  std::map<std::string, Vds> vds;
  bool first = true;
  for (const auto& s : src) {
    if (s.rows == 0) continue;
    auto f = h5::File::open((dir / s.name).string());
    for (const char* n : kVirtual) {
      if (!first && !vds.count(n)) continue;
      if (!f.exists(n)) {
        vds.erase(n);
        continue;
      }
      auto d = f.dataset(n);
      auto sh = d.shape();
      std::vector<int64_t> trailing(sh.begin() + 1, sh.end());
      if (first) {
        vds[n] = Vds{trailing, d.type_name(), h5::Datatype(H5Dget_type(d.id()), f.file(), n), true};
      } else if (vds[n].trailing != trailing || vds[n].type_name != d.type_name()) {
        log::warn(cat("trajectory index: dataset ", n, " differs in shape or type in ", s.name, "; no virtual view"));
        vds.erase(n);
      }
    }
    first = false;
  }

  const std::string tmp = (dir / "index.h5.tmp").string(), final_path = (dir / "index.h5").string();
  fs::create_directories(dir);
  {
    auto f = h5::File::create(tmp, false);
    f.set_attr("schema_version", kTrajectorySchemaVersion);
    f.set_attr("kind", "trajectory-index");
    f.set_attr("n_trajectories", total);
    f.set_attr("n_files", int64_t(src.size()));
    std::vector<std::string> files;
    std::vector<int64_t> seg, rank, rows, first_row;
    for (const auto& s : src) {
      files.push_back(s.name);
      seg.push_back(s.segment);
      rank.push_back(s.rank);
      rows.push_back(s.rows);
      first_row.push_back(s.first_row);
    }
    h5::RowsLayout sl;
    sl.chunk_rows = 256;
    f.create_string_rows("files", sl).append_strings(files);
    auto col = [&](const char* n, const std::vector<int64_t>& v) {
      f.write_tensor(n, at::tensor(v, at::kLong).reshape({int64_t(v.size())}));
    };
    col("segment", seg);
    col("rank", rank);
    col("rows", rows);
    col("first_row", first_row);

    for (auto& [n, v] : vds) {
      if (total == 0) break;
      std::vector<hsize_t> vdims{hsize_t(total)};
      for (int64_t d : v.trailing) vdims.push_back(hsize_t(d));
      const int rk = int(vdims.size());
      h5::Dataspace vspace(H5Screate_simple(rk, vdims.data(), nullptr), tmp, n);
      h5::PropList dcpl(H5Pcreate(H5P_DATASET_CREATE), tmp, n);
      for (const auto& s : src) {
        if (s.rows == 0) continue;
        std::vector<hsize_t> start(size_t(rk), 0), count = vdims;
        start[0] = hsize_t(s.first_row);
        count[0] = hsize_t(s.rows);
        // Source selection: rows [0, rows) of a source whose extent may hold a torn extra batch.
        auto sf = h5::File::open((dir / s.name).string());
        auto sd = sf.dataset(n);
        auto sh = sd.shape();
        std::vector<hsize_t> sdims(sh.begin(), sh.end()), szero(size_t(rk), 0);
        h5::Dataspace sspace(H5Screate_simple(rk, sdims.data(), nullptr), s.name, n);
        if (H5Sselect_hyperslab(vspace.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0 ||
            H5Sselect_hyperslab(sspace.id(), H5S_SELECT_SET, szero.data(), nullptr, count.data(), nullptr) < 0 ||
            H5Pset_virtual(dcpl.id(), vspace.id(), s.name.c_str(), ("/" + n).c_str(), sspace.id()) < 0)
          h5::fail(tmp, n, cat("mapping ", s.name));
      }
      H5Sselect_all(vspace.id());
      hid_t d = H5Dcreate2(f.id(), n.c_str(), v.type.id(), vspace.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT);
      if (d < 0) h5::fail(tmp, n, "creating virtual dataset");
      h5::Dataset ds(d, tmp, n);
    }
    f.flush();
    f.close();
  }
  fs::rename(tmp, final_path);
  return int64_t(src.size());
}

}  // namespace dagalign
