#pragma once
// Helpers for the io tests: a temporary directory removed at scope exit, and an error-message matcher.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dagalign-io-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// EXPECT_THROW_MSG(stmt, {"part", "other part"}): throws dagalign::Error whose message holds every part.
#define EXPECT_THROW_MSG(stmt, ...)                                                              \
  do {                                                                                           \
    std::vector<std::string> parts_ = __VA_ARGS__;                                               \
    try {                                                                                        \
      (void)(stmt);                                                                              \
      ADD_FAILURE() << "no exception from " #stmt;                                               \
    } catch (const dagalign::Error& e_) {                                                        \
      for (const auto& p_ : parts_)                                                              \
        EXPECT_NE(std::string(e_.what()).find(p_), std::string::npos)                            \
            << "message lacks '" << p_ << "': " << e_.what();                                    \
    }                                                                                            \
  } while (0)
