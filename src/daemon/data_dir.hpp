#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <filesystem>
#include <string>

namespace meshd::daemon {

/// Creates `dir` and its logs/ directory. Throws std::runtime_error with
/// the reason when it cannot.
void create_data_dir(const std::filesystem::path& dir);

/// One meshd per data_dir: two would fight over the database and the
/// ports. Takes an exclusive lock on dir/meshd.lock and returns its file
/// descriptor (held until closed); throws std::runtime_error when another
/// meshd holds it.
int lock_data_dir(const std::filesystem::path& dir);

/// Replaces `path` with `text` in one step (written beside it, then
/// renamed), so a script polling the file never reads half of it.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace meshd::daemon
