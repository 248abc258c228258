#include <signal.h>
#include <sys/wait.h>

#include <array>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "meshd/core/child_reaper.hpp"
#include "meshd/core/process.hpp"
#include "meshd/health/prober.hpp"

namespace meshd::health {
namespace {

namespace asio = boost::asio;

// Runs the check command in its own process group, keeps the first
// kMaxCheckOutput bytes of its output (and drains the rest so it never
// blocks on a full pipe), and kills the group when the timeout passes.
// Exit code 0 is passing, 1 warning, anything else critical (Consul's rule).
class ExecProbe : public std::enable_shared_from_this<ExecProbe> {
 public:
  ExecProbe(asio::io_context& io, core::ChildReaper& reaper, const ProbeTarget& target, Prober::Done done)
      : reaper_(reaper), pipe_(io), timer_(io), target_(target), done_(std::move(done)),
        started_(std::chrono::steady_clock::now()) {}

  void start() {
    core::SpawnRequest request;
    request.argv = target_.spec.command;
    request.cwd = target_.cwd;
    request.env = target_.env;
    request.stderr_to_stdout = true;
    request.capture_stderr = true;
    request.pipe_size = 64 * 1024;
    auto spawned = core::spawn_process(request);
    if (!spawned) return finish(HealthStatus::critical, spawned.error().message);
    pid_ = spawned->pid;
    pipe_.assign(spawned->stdout_fd);
    reaper_.watch(pid_, [self = shared_from_this()](int status) { self->on_exit(status); });
    timer_.expires_after(target_.spec.timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      self->timed_out_ = true;
      core::signal_group(self->pid_, SIGKILL);
    });
    read();
  }

 private:
  void read() {
    pipe_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                    const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;  // EOF or closed
      self->keep(n);
      self->read();
    });
  }

  void keep(std::size_t n) {
    std::size_t room = kMaxCheckOutput - std::min(kMaxCheckOutput, output_.size());
    output_.append(chunk_.data(), std::min(room, n));
  }

  void on_exit(int status) {
    timer_.cancel();
    // Take what is still in the pipe, then stop reading.
    boost::system::error_code ec;
    pipe_.non_blocking(true, ec);
    for (;;) {
      std::size_t n = pipe_.read_some(asio::buffer(chunk_), ec);
      if (ec || n == 0) break;
      keep(n);
    }
    pipe_.close(ec);
    // Sweep up anything the check left running in its group.
    core::signal_group(pid_, SIGKILL);
    std::string out = output_;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (timed_out_)
      return finish(HealthStatus::critical,
                    "timed out after " + std::to_string(target_.spec.timeout.count()) + "ms" +
                        (out.empty() ? "" : ": " + out));
    HealthStatus result = HealthStatus::critical;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) result = HealthStatus::passing;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 1) result = HealthStatus::warning;
    finish(result, out.empty() ? core::describe_wait_status(status) : out);
  }

  void finish(HealthStatus status, std::string output) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(CheckResult{status, std::move(output),
                     std::chrono::duration_cast<core::Duration>(std::chrono::steady_clock::now() - started_)});
  }

  core::ChildReaper& reaper_;
  asio::posix::stream_descriptor pipe_;
  asio::steady_timer timer_;
  ProbeTarget target_;
  Prober::Done done_;
  std::chrono::steady_clock::time_point started_;
  pid_t pid_ = -1;
  bool timed_out_ = false;
  std::string output_;
  std::array<char, 4096> chunk_{};
};

class ExecProber final : public Prober {
 public:
  ExecProber(asio::io_context& io, core::ChildReaper& reaper, ProbeTarget target)
      : io_(io), reaper_(reaper), target_(std::move(target)) {}
  void run(Done done) override {
    std::make_shared<ExecProbe>(io_, reaper_, target_, std::move(done))->start();
  }

 private:
  asio::io_context& io_;
  core::ChildReaper& reaper_;
  ProbeTarget target_;
};

}  // namespace

std::unique_ptr<Prober> make_exec_prober(asio::io_context& io, core::ChildReaper& reaper, ProbeTarget target) {
  return std::make_unique<ExecProber>(io, reaper, std::move(target));
}

std::unique_ptr<Prober> make_prober(asio::io_context& io, core::ChildReaper& reaper, ProbeTarget target) {
  switch (target.spec.type) {
    case config::CheckType::http: return make_http_prober(io, std::move(target));
    case config::CheckType::tcp: return make_tcp_prober(io, std::move(target));
    case config::CheckType::exec: return make_exec_prober(io, reaper, std::move(target));
    case config::CheckType::ttl:
    case config::CheckType::notify:
    case config::CheckType::none: return nullptr;
  }
  return nullptr;
}

}  // namespace meshd::health
