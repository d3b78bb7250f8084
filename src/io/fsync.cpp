#include "dagalign/io/fsync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "dagalign/core/error.h"

namespace dagalign {

void fsync_path(const std::string& path, bool folder) {
  const int fd = ::open(path.c_str(), (folder ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw Error(cat(path, ": cannot open for fsync (", std::strerror(errno), ")"));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw Error(cat(path, ": fsync failed (", std::strerror(err), ")"));
}

void fsync_parent_folder(const std::string& file) {
  const std::string dir = std::filesystem::path(file).parent_path().string();
  fsync_path(dir.empty() ? "." : dir, true);
}

}  // namespace dagalign
