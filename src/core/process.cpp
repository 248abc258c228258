#include "meshd/core/process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

extern char** environ;

namespace meshd::core {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct Pipe {
  int read = -1;
  int write = -1;
  bool open(std::size_t size) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    // A bigger buffer lets a chatty child run ahead of a busy meshd.
    ::fcntl(read, F_SETPIPE_SZ, static_cast<int>(size));
    ::fcntl(read, F_SETFL, ::fcntl(read, F_GETFL) | O_NONBLOCK);
    return true;
  }
  void close_both() {
    close_fd(read);
    close_fd(write);
  }
};

// What the child needs, prepared before the clone: between clone and exec
// the child may only make system calls (no allocation, no locks), and it
// reads nothing but this block. It runs on its own stack (see
// spawn_process), so none of the parent's locals can be clobbered by it.
struct ChildArgs {
  const SpawnRequest* request;
  char* const* argv;
  char* const* envp;
  int out_fd;
  int err_fd;
  int report_fd;
  pid_t parent;
};

// Not instrumented by the sanitizers: it shares meshd's memory, runs on a
// stack the sanitizer runtime knows nothing of, and never returns (so a
// frame's poisoning would never be undone).
__attribute__((no_sanitize("address", "undefined"))) int exec_child(void* arg) {
  const auto& a = *static_cast<const ChildArgs*>(arg);
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != a.parent) ::_exit(127);  // meshd died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  int devnull = ::open("/dev/null", O_RDWR);
  ::dup2(devnull, STDIN_FILENO);
  ::dup2(a.out_fd >= 0 ? a.out_fd : devnull, STDOUT_FILENO);
  ::dup2(a.err_fd >= 0 ? a.err_fd : devnull, STDERR_FILENO);
  if (!a.request->cwd.empty() && ::chdir(a.request->cwd.c_str()) != 0) {
    int e = errno;
    [[maybe_unused]] auto n = ::write(a.report_fd, &e, sizeof e);
    ::_exit(127);
  }
  ::execvpe(a.argv[0], a.argv, a.envp);
  int e = errno;
  [[maybe_unused]] auto n = ::write(a.report_fd, &e, sizeof e);
  ::_exit(127);
}

// The child's stack: execvpe builds candidate paths on it (PATH_MAX and a
// little more), so 64 KiB leaves a wide margin.
constexpr std::size_t kChildStackSize = 64 * 1024;

}  // namespace

Result<SpawnedProcess> spawn_process(const SpawnRequest& request) {
  if (request.argv.empty()) return make_error(ErrorCode::invalid_argument, "empty command");
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : request.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const auto& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  Pipe out, err, report;
  if ((request.capture_stdout && !out.open(request.pipe_size)) ||
      (request.capture_stderr && !request.stderr_to_stdout && !err.open(request.pipe_size)) ||
      !report.open(4096)) {
    int e = errno;
    out.close_both();
    err.close_both();
    report.close_both();
    return make_error(ErrorCode::internal, std::string("pipe: ") + std::strerror(e));
  }
  ChildArgs args{&request,
                 argv.data(),
                 envp.data(),
                 out.write,
                 request.stderr_to_stdout ? out.write : err.write,
                 report.write,
                 ::getpid()};
  // clone(CLONE_VM | CLONE_VFORK), as glibc's posix_spawn does: the child
  // borrows meshd's memory until exec instead of copying its page tables,
  // so a spawn costs the same whatever meshd's size, and the parent waits
  // until the child has exec'd or exited. Unlike vfork() the child runs a
  // function of its own on a stack of its own, so it cannot clobber this
  // frame (GCC's -Wclobbered caught exactly that with vfork).
  std::unique_ptr<char[]> stack(new char[kChildStackSize]);
  pid_t pid =
      ::clone(exec_child, stack.get() + kChildStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  if (pid < 0) {
    int e = errno;
    out.close_both();
    err.close_both();
    report.close_both();
    return make_error(ErrorCode::internal, std::string("clone: ") + std::strerror(e));
  }
  // Also set the group from the parent, so a signal sent right after this
  // returns reaches the group even if the child has not run yet.
  ::setpgid(pid, pid);
  close_fd(out.write);
  close_fd(err.write);
  close_fd(report.write);
  // The report pipe is close-on-exec: EOF means exec succeeded. It was made
  // non-blocking by Pipe::open, so wait for it with a blocking read instead.
  ::fcntl(report.read, F_SETFL, ::fcntl(report.read, F_GETFL) & ~O_NONBLOCK);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report.read, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close_fd(report.read);
  if (n == sizeof child_errno) {
    // The child has exited with 127; the reaper collects it.
    out.close_both();
    err.close_both();
    return make_error(ErrorCode::invalid_argument,
                      "cannot run '" + request.argv[0] + "'" +
                          (request.cwd.empty() ? "" : " in '" + request.cwd + "'") + ": " +
                          std::strerror(child_errno));
  }
  return SpawnedProcess{pid, out.read, err.read};
}

bool signal_group(pid_t pid, int signal) {
  if (pid <= 0) return false;
  return ::kill(-pid, signal) == 0;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by " + signal_name(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

namespace {
struct SignalName {
  const char* name;
  int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},  {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ABRT", SIGABRT},  {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}};
}  // namespace

int signal_from_name(const std::string& name) {
  std::string n = name;
  for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n.rfind("SIG", 0) == 0) n = n.substr(3);
  for (const auto& s : kSignals)
    if (n == s.name) return s.number;
  if (!n.empty() && n.size() < 4 && n.find_first_not_of("0123456789") == std::string::npos) {
    int v = std::stoi(n);
    if (v > 0 && v < NSIG) return v;
  }
  return -1;
}

std::string signal_name(int signal) {
  for (const auto& s : kSignals)
    if (s.number == signal) return std::string("SIG") + s.name;
  return "signal " + std::to_string(signal);
}

}  // namespace meshd::core
