#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace meshd::testing {

/// A real single-member etcd for tests: listens on free 127.0.0.1 ports,
/// keeps its data (and, with TLS, a CA and certificates made with the
/// `openssl` command) in a temp dir removed afterwards, and is stopped by
/// its pid. Restarting after stop() or kill() keeps its data and ports.
class EtcdProcess {
 public:
  struct Options {
    /// https on the client port, with client certificates required
    /// (--client-cert-auth): ca_file(), client_cert_file(), client_key_file().
    bool tls = false;
    /// More etcd flags, e.g. "--experimental-watch-progress-notify-interval=500ms".
    std::vector<std::string> extra_arguments;
  };

  EtcdProcess() : EtcdProcess(Options{}) {}
  explicit EtcdProcess(Options options);
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;
  /// Kills etcd if running and removes the temp dir.
  ~EtcdProcess();

  /// Whether the etcd and etcdctl commands exist (tests skip otherwise).
  static bool installed();

  /// Starts etcd and waits (up to 15 s) until it answers a health check.
  /// Empty when it runs, else why not (with the end of its log).
  std::string start();
  /// SIGTERM, then SIGKILL after 5 s; waits for it to exit.
  void stop();
  /// SIGKILL, as a crash; waits for it to exit.
  void kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  /// "http://127.0.0.1:PORT" (https with TLS).
  std::string client_url() const;
  std::uint16_t client_port() const { return client_port_; }
  const std::string& dir() const { return dir_; }

  /// With TLS: the CA that signed etcd's and the client's certificates,
  /// the client's certificate and key, and a second, unrelated CA.
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string client_cert_file() const { return dir_ + "/client.crt"; }
  std::string client_key_file() const { return dir_ + "/client.key"; }
  std::string other_ca_file() const { return dir_ + "/other-ca.crt"; }

  /// Runs etcdctl (API v3) against this etcd with `args`; answers its
  /// exit code (-1 when it could not run or took over 10 s) and its
  /// output (stdout and stderr) in `output` when given.
  int etcdctl(const std::vector<std::string>& args, std::string* output = nullptr) const;

 private:
  std::string make_certificates();
  std::vector<std::string> etcd_arguments() const;
  std::string log_tail() const;
  void signal_and_wait(int signal, int wait_ms);

  Options options_;
  std::string dir_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
  bool certificates_made_ = false;
};

/// Runs `argv` (searched in PATH) and waits up to `timeout_ms`; answers the
/// exit code, or -1 when it could not run or was killed for taking too long.
int run_command(const std::vector<std::string>& argv, std::string* output, int timeout_ms = 10000);

/// A TCP port that nothing listens on at 127.0.0.1 now.
std::uint16_t free_loopback_port();

}  // namespace meshd::testing
