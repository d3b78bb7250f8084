#pragma once
// fsync by path: the durability step after writing a file (its data) or renaming into a folder (the entry).
#include <string>

namespace dagalign {

// Flushes `path` (a file, or a folder when folder = true) to stable storage; throws Error naming the path
// and the system error when it cannot be opened or synced.
void fsync_path(const std::string& path, bool folder);

// fsync_path of the folder that holds `file` ("." for a bare file name): makes a rename into it durable.
void fsync_parent_folder(const std::string& file);

}  // namespace dagalign
