#pragma once
// Console logging: rank 0 prints info lines by default; warnings and errors come from every rank,
// prefixed with the rank. Lines are flushed as they are written (Slurm logs, killed jobs).
#include <string>

#include "dagalign/core/error.h"

namespace dagalign::log {

void set_rank(int rank, int world);
int rank();
void info(const std::string& line);       // rank 0 only
void info_all(const std::string& line);   // every rank, prefixed "[rank r] "
void warn(const std::string& line);       // every rank, stderr
void error(const std::string& line);      // every rank, stderr

template <class... A>
void infof(const A&... a) { info(cat(a...)); }

}  // namespace dagalign::log
