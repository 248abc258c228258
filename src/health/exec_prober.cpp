#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "meshd/core/child_reaper.hpp"
#include "meshd/core/process.hpp"
#include "meshd/core/scheduler.hpp"
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
  ExecProbe(const ProbeEnv& env, const ProbeTarget& target, Prober::Done done)
      : clock_(env.scheduler.clock()),
        reaper_(env.reaper),
        pipe_(env.io),
        deadline_(env.scheduler),
        target_(target),
        done_(std::move(done)),
        started_(clock_.now()) {}

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
    // The probe lives until the reaper reports the exit, which the kill
    // below brings about; the deadline needs no reference of its own.
    deadline_.arm(target_.spec.timeout, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->timed_out_ = true;
        core::signal_group(self->pid_, SIGKILL);
      }
    });
    read();
  }

 private:
  void read() {
    pipe_.async_read_some(
        asio::buffer(chunk_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
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
    deadline_.cancel();
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
      return finish(HealthStatus::critical, "timed out after " +
                                                std::to_string(target_.spec.timeout.count()) +
                                                "ms" + (out.empty() ? "" : ": " + out));
    HealthStatus result = HealthStatus::critical;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      result = HealthStatus::passing;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
      result = HealthStatus::warning;
    finish(result, out.empty() ? core::describe_wait_status(status) : out);
  }

  void finish(HealthStatus status, std::string output) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(CheckResult{status, std::move(output),
                     std::chrono::duration_cast<core::Duration>(clock_.now() - started_)});
  }

  const core::TimeSource& clock_;
  core::ChildReaper& reaper_;
  asio::posix::stream_descriptor pipe_;
  core::Timer deadline_;
  ProbeTarget target_;
  Prober::Done done_;
  core::TimePoint started_;
  pid_t pid_ = -1;
  bool timed_out_ = false;
  std::string output_;
  std::array<char, 4096> chunk_{};
};

class ExecProber final : public Prober {
 public:
  ExecProber(const ProbeEnv& env, ProbeTarget target) : env_(env), target_(std::move(target)) {}
  void run(Done done) override {
    std::make_shared<ExecProbe>(env_, target_, std::move(done))->start();
  }

 private:
  ProbeEnv env_;
  ProbeTarget target_;
};

}  // namespace

std::unique_ptr<Prober> make_exec_prober(const ProbeEnv& env, ProbeTarget target) {
  return std::make_unique<ExecProber>(env, std::move(target));
}

}  // namespace meshd::health
