#include "meshd/gateway/access_log.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace meshd::gateway {

namespace fs = std::filesystem;

namespace {

std::atomic<std::uint64_t> g_dropped{0};

// Opens `path` for appending; -1 with errno set on failure.
int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

std::string rfc3339_ms(core::WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int frac = static_cast<int>(ms % 1000);
  if (frac < 0) frac += 1000, --secs;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

double ms(std::int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

}  // namespace

std::string access_log_line(const AccessRecord& r) {
  nlohmann::ordered_json j = {{"time", rfc3339_ms(r.time)},
                              {"service", r.service},
                              {"instance", r.instance},
                              {"method", r.method},
                              {"path", r.path},
                              {"status", r.status},
                              {"bytes_in", r.bytes_in},
                              {"bytes_out", r.bytes_out},
                              {"duration_ms", ms(r.duration_us)},
                              {"upstream_ms", ms(r.upstream_us)},
                              {"retries", r.retries},
                              {"trace_id", r.trace_id},
                              {"protocol", r.protocol},
                              {"client", r.client}};
  if (!r.error.empty()) j["error"] = r.error;
  // A path is whatever bytes the client sent: invalid UTF-8 is replaced.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

AccessLog::AccessLog(const config::AccessLogSpec& spec, std::size_t queue_limit)
    : spec_(spec), queue_limit_(std::max<std::size_t>(queue_limit, 1)) {
  const std::string where = "mesh.access_log.path '" + spec_.path + "'";
  fs::path dir = fs::path(spec_.path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      throw std::runtime_error(where + ": cannot create the directory " + dir.string() + ": " +
                               ec.message());
  }
  fd_ = open_append(spec_.path);
  if (fd_ < 0) throw std::runtime_error(where + ": cannot open it: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t AccessLog::dropped_total() {
  return g_dropped.load();
}

void AccessLog::write(AccessRecord record) {
  std::unique_lock lock(mutex_);
  if (queue_.size() >= queue_limit_) {
    lock.unlock();
    ++dropped_;
    ++g_dropped;
    return;
  }
  queue_.push_back(std::move(record));
  // Only the first record of a batch wakes the writer: under load it finds
  // the next batch waiting when it is done with this one.
  bool wake = queue_.size() == 1;
  lock.unlock();
  if (wake) wake_.notify_one();
}

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_ && !reopen_wanted_; });
}

void AccessLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_wanted_ = true;
  }
  wake_.notify_one();
}

void AccessLog::run() {
  std::deque<AccessRecord> batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || reopen_wanted_; });
    bool reopen = reopen_wanted_;
    if (queue_.empty() && !reopen) break;  // stopping, and everything is written
    // Taken with the batch, under the lock: a reopen() called after this
    // point is seen on the next round, so flush() returns only after it.
    reopen_wanted_ = false;
    batch.swap(queue_);
    busy_ = true;
    lock.unlock();
    // Between batches: the old file ends with whole lines.
    if (reopen) switch_file();
    if (!batch.empty()) write_batch(batch);
    batch.clear();
    lock.lock();
    busy_ = false;
    if (queue_.empty() && !reopen_wanted_) idle_.notify_all();
  }
  idle_.notify_all();
}

void AccessLog::switch_file() {
  // The new file is opened before the old one is closed: when the path
  // cannot be opened, the records go on to the file the writer has.
  std::error_code ignored;
  fs::path dir = fs::path(spec_.path).parent_path();
  if (!dir.empty()) fs::create_directories(dir, ignored);
  int fd = open_append(spec_.path);
  if (fd < 0) {
    ++reopen_failures_;
    spdlog::warn("access log {}: cannot reopen it: {}; {}", spec_.path, std::strerror(errno),
                 fd_ >= 0 ? "writing on to the file it had open" : "records are still dropped");
    return;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  next_open_ = {};
  spdlog::info("access log {}: reopened", spec_.path);
}

void AccessLog::write_batch(const std::deque<AccessRecord>& batch) {
  std::size_t done = 0;  // records written
  auto lose_rest = [&] {
    written_ += done;
    lose(batch.size() - done);
  };
  if (fd_ < 0 && !open_path()) return lose_rest();
  std::string out;
  std::size_t pending = 0;  // records in `out`
  for (const auto& record : batch) {
    std::string line = access_log_line(record);
    // Rotate before the line that would take the file past max_size.
    if (size_ + out.size() + line.size() > spec_.max_size && size_ + out.size() > 0) {
      if (!out.empty()) {
        if (!write_out(out)) return lose_rest();
        done += pending;
        out.clear();
        pending = 0;
      }
      rotate();
      if (fd_ < 0) return lose_rest();
    }
    out += line;
    ++pending;
  }
  if (!out.empty()) {
    if (!write_out(out)) return lose_rest();
    done += pending;
  }
  written_ += done;
  if (warned_) {
    warned_ = false;
    spdlog::info("access log {}: writing again", spec_.path);
  }
}

bool AccessLog::write_out(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      last_error_ = std::string("cannot write: ") + (n < 0 ? std::strerror(errno) : "no progress");
      ::close(fd_);  // reopened for the next batch
      fd_ = -1;
      return false;
    }
    off += static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool AccessLog::open_path() {
  // At most once a second: a full disk is not hammered by every batch.
  auto now = std::chrono::steady_clock::now();
  if (now < next_open_) return false;
  next_open_ = now + std::chrono::seconds(1);
  std::error_code ignored;
  fs::path dir = fs::path(spec_.path).parent_path();
  if (!dir.empty()) fs::create_directories(dir, ignored);  // removed while running
  fd_ = open_append(spec_.path);
  if (fd_ < 0) {
    last_error_ = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

void AccessLog::rotate() {
  ::close(fd_);
  fd_ = -1;
  const std::string& path = spec_.path;
  if (spec_.keep == 0) {
    ::unlink(path.c_str());
  } else {
    // path.keep is replaced (the oldest goes), then each moves up one.
    for (int i = spec_.keep - 1; i >= 1; --i)
      ::rename((path + "." + std::to_string(i)).c_str(),
               (path + "." + std::to_string(i + 1)).c_str());
    if (::rename(path.c_str(), (path + ".1").c_str()) != 0 && !rotate_warned_) {
      rotate_warned_ = true;  // once: it would be tried again before every line
      spdlog::warn("access log {}: cannot rotate it: {}; it grows past max_size", path,
                   std::strerror(errno));
    }
  }
  next_open_ = {};
  open_path();
}

void AccessLog::lose(std::size_t records) {
  dropped_ += records;
  g_dropped += records;
  if (warned_) return;
  warned_ = true;
  spdlog::warn("access log {}: {}; records are dropped until it works again", spec_.path,
               last_error_);
}

}  // namespace meshd::gateway
