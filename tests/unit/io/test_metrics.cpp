// Metrics: JSONL and HDF5 table agree, new metrics are back-filled with NaN, resume drops later epochs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "dagalign/core/error.h"
#include "dagalign/io/hdf5.h"
#include "dagalign/io/metrics.h"
#include "io_test_util.h"

using namespace dagalign;

namespace {
std::vector<std::string> lines(const std::string& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
}  // namespace

TEST(Metrics, JsonlAndH5Agree) {
  TempDir dir;
  const std::string run = dir.path.string();
  {
    MetricsWriter w(run);
    w.write(0, {{"loss", 1.5}, {"reward_mean", 0.25}});
    w.write(1, {{"loss", 1.25}, {"reward_mean", 0.5}, {"kl", 0.125}});
    // Flushed after each epoch: readable while the writer is still open (no locking on the jsonl).
    EXPECT_EQ(lines(w.jsonl_path()).size(), 2u);
    w.write(2, {{"loss", 1.0}});
  }
  auto l = lines(run + "/metrics.jsonl");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], R"({"epoch":0,"loss":1.5,"reward_mean":0.25})");
  EXPECT_EQ(l[1], R"({"epoch":1,"kl":0.125,"loss":1.25,"reward_mean":0.5})");
  auto j = read_metrics_jsonl(run + "/metrics.jsonl");
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[2].at("loss"), 1.0);
  auto h = read_metrics_h5(run + "/metrics.h5");
  EXPECT_EQ(h.at("epoch"), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(h.at("loss"), (std::vector<double>{1.5, 1.25, 1.0}));
  ASSERT_EQ(h.at("kl").size(), 3u);
  EXPECT_TRUE(std::isnan(h.at("kl")[0]));
  EXPECT_EQ(h.at("kl")[1], 0.125);
  EXPECT_TRUE(std::isnan(h.at("kl")[2]));
  EXPECT_TRUE(std::isnan(h.at("reward_mean")[2]));
  auto f = h5::File::open(run + "/metrics.h5");
  EXPECT_EQ(f.attr_string("kind"), "metrics");
  EXPECT_EQ(f.dataset("loss").type_name(), "float64");
  EXPECT_EQ(f.dataset("epoch").type_name(), "int64");
}

TEST(Metrics, ResumeDropsEpochsFromTheRestartOn) {
  TempDir dir;
  const std::string run = dir.path.string();
  {
    MetricsWriter w(run);
    for (int e = 0; e < 4; ++e) w.write(e, {{"loss", 10.0 + e}});
  }
  std::ofstream(run + "/metrics.jsonl", std::ios::app) << R"({"epoch":4,"lo)";  // torn last line
  {
    MetricsWriter w(run, 2);  // resumed from the checkpoint of epoch 1: epochs 2.. are redone
    w.write(2, {{"loss", 20.0}, {"new", 1.0}});
  }
  auto j = read_metrics_jsonl(run + "/metrics.jsonl");
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0].at("epoch"), 0);
  EXPECT_EQ(j[1].at("loss"), 11.0);
  EXPECT_EQ(j[2].at("loss"), 20.0);
  auto h = read_metrics_h5(run + "/metrics.h5");
  EXPECT_EQ(h.at("epoch"), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(h.at("loss"), (std::vector<double>{10, 11, 20}));
  EXPECT_TRUE(std::isnan(h.at("new")[0]));
  EXPECT_EQ(h.at("new")[2], 1.0);
  // A fresh (non-resumed) writer truncates.
  {
    MetricsWriter w(run);
  }
  EXPECT_TRUE(read_metrics_jsonl(run + "/metrics.jsonl").empty());
  EXPECT_EQ(read_metrics_h5(run + "/metrics.h5").at("epoch").size(), 0u);
}

TEST(Metrics, BadNamesAndFiles) {
  TempDir dir;
  MetricsWriter w(dir.path.string());
  EXPECT_THROW_MSG(w.write(0, {{"loss/db", 1.0}}), {"bad metric name 'loss/db'"});
  std::ofstream(dir.file("bad.jsonl")) << "{\"epoch\":0}\nnot json\n";
  EXPECT_THROW_MSG(read_metrics_jsonl(dir.file("bad.jsonl")), {dir.file("bad.jsonl"), "line 2"});
}
