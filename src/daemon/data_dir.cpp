#include "data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace meshd::daemon {

namespace fs = std::filesystem;

void create_data_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir / "logs", ec);
  if (ec) throw std::runtime_error("cannot create data_dir " + dir.string() + ": " + ec.message());
}

int lock_data_dir(const fs::path& dir) {
  auto path = dir / "meshd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw std::runtime_error("another meshd is already using data_dir " + dir.string());
  }
  return fd;
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  fs::rename(tmp, path);
}

}  // namespace meshd::daemon
