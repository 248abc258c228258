#include "etcd_process.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "meshd/core/process.hpp"

namespace meshd::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

/// Reaps `pid` within `wait_ms`; true when it exited.
bool wait_exit(pid_t pid, int wait_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  while (Clock::now() < deadline) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

int run_command(const std::vector<std::string>& argv, std::string* output, int timeout_ms) {
  core::SpawnRequest request;
  request.argv = argv;
  request.env = core::current_environment();
  request.env["ETCDCTL_API"] = "3";
  request.stderr_to_stdout = true;
  request.capture_stderr = false;
  auto child = core::spawn_process(request);
  if (!child) {
    if (output != nullptr) *output = child.error().message;
    return -1;
  }
  std::string text;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  bool exited = false;
  while (Clock::now() < deadline) {
    char buffer[4096];
    const auto n = ::read(child->stdout_fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Output closed: it is exiting (or it closed its output and hangs on).
  while (Clock::now() < deadline && !exited) {
    exited = ::waitpid(child->pid, &status, WNOHANG) == child->pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exited) {
    core::signal_group(child->pid, SIGKILL);
    ::waitpid(child->pid, &status, 0);
  }
  if (child->stdout_fd >= 0) ::close(child->stdout_fd);
  if (output != nullptr) *output = text;
  return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

EtcdProcess::EtcdProcess(Options options) : options_(std::move(options)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "meshd-etcd-XXXXXX").string();
  if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
}

EtcdProcess::~EtcdProcess() {
  if (running()) kill();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

bool EtcdProcess::installed() {
  return on_path("etcd") && on_path("etcdctl");
}

std::string EtcdProcess::client_url() const {
  return std::string(options_.tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdProcess::start() {
  if (dir_.empty()) return "no temp dir";
  if (running()) return "already running";
  if (options_.tls && !certificates_made_) {
    if (auto error = make_certificates(); !error.empty()) return error;
    certificates_made_ = true;
  }
  if (client_port_ == 0) {
    client_port_ = free_loopback_port();
    peer_port_ = free_loopback_port();
    if (client_port_ == 0 || peer_port_ == 0 || client_port_ == peer_port_) {
      return "no free port";
    }
  }
  // Through sh only to send its log to a file; exec keeps etcd's pid.
  core::SpawnRequest request;
  request.argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" >>'" + dir_ + "/etcd.log' 2>&1", "etcd"};
  for (auto& argument : etcd_arguments()) request.argv.push_back(std::move(argument));
  request.env = core::current_environment();
  request.capture_stdout = false;
  request.capture_stderr = false;
  auto child = core::spawn_process(request);
  if (!child) return "cannot start etcd: " + child.error().message;
  pid_ = child->pid;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  std::string last;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "etcd exited (" + core::describe_wait_status(status) + "):\n" + log_tail();
    }
    if (etcdctl({"endpoint", "health"}, &last) == 0) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill();
  return "etcd did not answer within 15 s (" + last + "):\n" + log_tail();
}

void EtcdProcess::stop() {
  signal_and_wait(SIGTERM, 5000);
}

void EtcdProcess::kill() {
  signal_and_wait(SIGKILL, 5000);
}

void EtcdProcess::signal_and_wait(int signal, int wait_ms) {
  if (!running()) return;
  ::kill(pid_, signal);
  if (!wait_exit(pid_, wait_ms)) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, 5000);
  }
  pid_ = -1;
}

std::vector<std::string> EtcdProcess::etcd_arguments() const {
  const std::string client = client_url();
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> arguments = {"--name",
                                        "test",
                                        "--data-dir",
                                        dir_ + "/data",
                                        "--listen-client-urls",
                                        client,
                                        "--advertise-client-urls",
                                        client,
                                        "--listen-peer-urls",
                                        peer,
                                        "--initial-advertise-peer-urls",
                                        peer,
                                        "--initial-cluster",
                                        "test=" + peer,
                                        "--initial-cluster-state",
                                        "new",
                                        "--logger",
                                        "zap",
                                        "--log-level",
                                        "warn"};
  if (options_.tls) {
    for (const char* flag : {"--cert-file", "--key-file", "--trusted-ca-file"}) {
      arguments.emplace_back(flag);
      const std::string name(flag);
      arguments.push_back(name == "--cert-file"  ? dir_ + "/server.crt"
                          : name == "--key-file" ? dir_ + "/server.key"
                                                 : ca_file());
    }
    arguments.emplace_back("--client-cert-auth");
  }
  arguments.insert(arguments.end(), options_.extra_arguments.begin(),
                   options_.extra_arguments.end());
  return arguments;
}

int EtcdProcess::etcdctl(const std::vector<std::string>& args, std::string* output) const {
  std::vector<std::string> argv = {"etcdctl", "--endpoints",       client_url(), "--dial-timeout",
                                   "2s",      "--command-timeout", "5s"};
  if (options_.tls) {
    argv.insert(argv.end(),
                {"--cacert", ca_file(), "--cert", client_cert_file(), "--key", client_key_file()});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, output);
}

std::string EtcdProcess::make_certificates() {
  // EC keys: as good for a test and much faster to make than RSA.
  const std::vector<std::string> new_key = {"-newkey", "ec", "-pkeyopt",
                                            "ec_paramgen_curve:prime256v1", "-nodes"};
  auto run = [&](std::vector<std::string> argv) -> std::string {
    std::string output;
    if (run_command(argv, &output) != 0) return "openssl failed: " + output;
    return {};
  };
  auto make_ca = [&](const std::string& name) {
    std::vector<std::string> argv = {
        "openssl", "req", "-x509", "-days", "2", "-subj", "/CN=meshd test " + name};
    argv.insert(argv.end(), new_key.begin(), new_key.end());
    argv.insert(
        argv.end(),
        {"-keyout", dir_ + "/" + name + ".key", "-out", dir_ + "/" + name + ".crt", "-addext",
         "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    return run(argv);
  };
  auto make_signed = [&](const std::string& name, const std::string& extensions) {
    std::vector<std::string> argv = {"openssl", "req", "-subj", "/CN=" + name};
    argv.insert(argv.end(), new_key.begin(), new_key.end());
    argv.insert(argv.end(),
                {"-keyout", dir_ + "/" + name + ".key", "-out", dir_ + "/" + name + ".csr"});
    if (auto error = run(argv); !error.empty()) return error;
    std::ofstream(dir_ + "/" + name + ".ext") << extensions << "\n";
    return run({"openssl", "x509", "-req", "-days", "2", "-in", dir_ + "/" + name + ".csr", "-CA",
                ca_file(), "-CAkey", dir_ + "/ca.key", "-set_serial",
                std::to_string(name.size() + 1000), "-extfile", dir_ + "/" + name + ".ext", "-out",
                dir_ + "/" + name + ".crt"});
  };
  if (auto error = make_ca("ca"); !error.empty()) return error;
  if (auto error = make_ca("other-ca"); !error.empty()) return error;
  if (auto error = make_signed("server",
                               "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "extendedKeyUsage=serverAuth,clientAuth");
      !error.empty()) {
    return error;
  }
  if (auto error = make_signed("client", "extendedKeyUsage=clientAuth"); !error.empty()) {
    return error;
  }
  return {};
}

std::string EtcdProcess::log_tail() const {
  std::ifstream in(dir_ + "/etcd.log");
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace meshd::testing
