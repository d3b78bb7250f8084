#include "dagalign/core/log.h"

#include <cstdio>

namespace dagalign::log {
namespace {
int g_rank = 0, g_world = 1;
void emit(FILE* f, const std::string& prefix, const std::string& line) {
  std::fprintf(f, "%s%s\n", prefix.c_str(), line.c_str());
  std::fflush(f);
}
std::string rank_prefix() { return g_world > 1 ? cat("[rank ", g_rank, "] ") : std::string(); }
}  // namespace

void set_rank(int r, int world) { g_rank = r; g_world = world; }
int rank() { return g_rank; }
void info(const std::string& line) { if (g_rank == 0) emit(stdout, "", line); }
void info_all(const std::string& line) { emit(stdout, rank_prefix(), line); }
void warn(const std::string& line) { emit(stderr, rank_prefix() + "warning: ", line); }
void error(const std::string& line) { emit(stderr, rank_prefix() + "error: ", line); }

}  // namespace dagalign::log
