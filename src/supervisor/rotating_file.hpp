#pragma once
// Private to the supervisor module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <string>

namespace meshd::supervisor {

/// An append-only log file that rotates past `max_size`: file -> file.1 ->
/// ... -> file.<keep>, the oldest deleted. Writes go straight to the kernel
/// (page cache), so a write never waits on the disk in the common case.
class RotatingFile {
 public:
  RotatingFile(std::string path, std::uint64_t max_size, int keep);
  ~RotatingFile();
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  /// Appends; returns false (and counts the bytes as dropped) when the file
  /// cannot be written, e.g. the disk is full.
  bool write(const char* data, std::size_t size);

  const std::string& path() const { return path_; }
  std::uint64_t bytes_written() const { return written_total_; }
  std::uint64_t bytes_dropped() const { return dropped_; }

 private:
  void open();
  void rotate();

  std::string path_;
  std::uint64_t max_size_;
  int keep_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t written_total_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace meshd::supervisor
