#include "meshd/supervisor/os_process_launcher.hpp"

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include "meshd/core/process.hpp"
#include "rotating_file.hpp"

namespace meshd::supervisor {
namespace {

namespace asio = boost::asio;

// Moves one pipe's bytes into its file and the service's tail until EOF.
class LogPump : public std::enable_shared_from_this<LogPump> {
 public:
  LogPump(asio::io_context& io, int fd, std::string path, const config::LogsSpec& logs,
          std::shared_ptr<LogTail> tail, std::string instance, LogStream stream,
          const core::TimeSource& clock)
      : pipe_(io, fd),
        file_(std::move(path), logs.max_size, logs.keep),
        tail_(std::move(tail)),
        instance_(std::move(instance)),
        stream_(stream),
        clock_(clock) {}

  void start() { read(); }

 private:
  void read() {
    pipe_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          if (ec) return self->finish();
          self->consume(n);
          self->read();
        });
  }

  void consume(std::size_t n) {
    std::uint64_t dropped_before = file_.bytes_dropped();
    file_.write(buffer_.data(), n);
    auto now = core::to_unix_ms(clock_.wall_now());
    if (tail_) {
      tail_->feed(instance_, stream_, buffer_.data(), n, now);
      if (file_.bytes_dropped() > dropped_before)
        tail_->note(instance_, LogStream::stderr_stream,
                    "[meshd] " + std::to_string(file_.bytes_dropped() - dropped_before) +
                        " bytes dropped: cannot write " + file_.path(),
                    now);
    }
  }

  void finish() {
    boost::system::error_code ignored;
    pipe_.close(ignored);
  }

  asio::posix::stream_descriptor pipe_;
  RotatingFile file_;
  std::shared_ptr<LogTail> tail_;
  std::string instance_;
  LogStream stream_;
  const core::TimeSource& clock_;
  std::array<char, 64 * 1024> buffer_{};
};

}  // namespace

OsProcessLauncher::OsProcessLauncher(core::ChildReaper& reaper, std::string log_dir,
                                     const core::TimeSource& clock)
    : reaper_(reaper),
      log_dir_(std::move(log_dir)),
      clock_(clock),
      log_work_(log_io_.get_executor()) {
  log_thread_ = std::thread([this] { log_io_.run(); });
}

OsProcessLauncher::~OsProcessLauncher() {
  log_work_.reset();
  log_io_.stop();
  if (log_thread_.joinable()) log_thread_.join();
}

core::Result<pid_t> OsProcessLauncher::launch(const LaunchSpec& spec, OnExit on_exit) {
  core::SpawnRequest request;
  request.argv = spec.argv;
  request.cwd = spec.cwd;
  request.env = spec.env;
  auto spawned = core::spawn_process(request);
  if (!spawned) return spawned.error();
  reaper_.watch(spawned->pid, std::move(on_exit));
  auto start_pump = [&](int fd, LogStream stream) {
    if (fd < 0) return;
    std::string path = log_dir_ + "/" + spec.instance + "." + to_string(stream) + ".log";
    auto pump = std::make_shared<LogPump>(log_io_, fd, path, spec.logs, spec.tail, spec.instance,
                                          stream, clock_);
    asio::post(log_io_, [pump] { pump->start(); });
  };
  start_pump(spawned->stdout_fd, LogStream::stdout_stream);
  start_pump(spawned->stderr_fd, LogStream::stderr_stream);
  return spawned->pid;
}

bool OsProcessLauncher::signal_group(pid_t pid, int signal) {
  return core::signal_group(pid, signal);
}

}  // namespace meshd::supervisor
