#pragma once
// Errors that name what was wrong and where: file, key, expected vs found.
#include <sstream>
#include <stdexcept>
#include <string>

namespace dagalign {

// Concatenates its arguments with operator<< (no separators).
template <class... A>
std::string cat(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}

// Any bad input or failed invariant the user can act on. The message is printed as is, then exit 1.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A configuration key, value or file was wrong (exit 2).
struct ConfigError : Error {
  using Error::Error;
};

}  // namespace dagalign

// DAG_CHECK(cond, "file ", path, ": expected ", a, ", found ", b);
#define DAG_CHECK(cond, ...)                                   \
  do {                                                         \
    if (!(cond)) throw ::dagalign::Error(::dagalign::cat(__VA_ARGS__)); \
  } while (0)
