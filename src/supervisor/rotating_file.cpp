#include "rotating_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace meshd::supervisor {

RotatingFile::RotatingFile(std::string path, std::uint64_t max_size, int keep)
    : path_(std::move(path)), max_size_(max_size), keep_(keep) {
  open();
}

RotatingFile::~RotatingFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RotatingFile::open() {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  struct stat st {};
  size_ = (fd_ >= 0 && ::fstat(fd_, &st) == 0) ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void RotatingFile::rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (keep_ <= 0) {
    ::unlink(path_.c_str());
  } else {
    ::unlink((path_ + "." + std::to_string(keep_)).c_str());
    for (int i = keep_ - 1; i >= 1; --i)
      std::rename((path_ + "." + std::to_string(i)).c_str(),
                  (path_ + "." + std::to_string(i + 1)).c_str());
    std::rename(path_.c_str(), (path_ + ".1").c_str());
  }
  open();
}

bool RotatingFile::write(const char* data, std::size_t size) {
  if (max_size_ > 0 && size_ + size > max_size_ && size_ > 0) rotate();
  if (fd_ < 0) {
    dropped_ += size;
    return false;
  }
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd_, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      dropped_ += size - done;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += size;
  written_total_ += size;
  return true;
}

}  // namespace meshd::supervisor
