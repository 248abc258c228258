// meshd-demo-service: the managed service of meshd's demo config and
// integration tests. See --help, or options.cpp, for what it can be told to do.

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <exception>
#include <optional>
#include <thread>

#include "options.hpp"
#include "output.hpp"
#include "routes.hpp"
#include "server.hpp"
#include "side_tasks.hpp"

using namespace meshd::demo;

int main(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const HelpShown&) {
    return 0;
  } catch (const UsageError& e) {
    err_line(std::string("meshd-demo-service: ") + e.what());
    return 2;
  }

  std::signal(SIGPIPE, SIG_IGN);  // a closed socket or pipe is an error code, not death
  if (options.ignore_sigterm) std::signal(SIGTERM, SIG_IGN);  // inherited by the grandchild
  if (options.spawn_child) out_line("grandchild pid " + std::to_string(spawn_grandchild()));
  start_signal_thread(options);
  start_exit_timers(options, started);
  std::this_thread::sleep_for(options.startup_delay);

  ServiceState state{options};
  state.healthy.store(!options.unhealthy);
  if (!options.port) {
    // A one-shot job (--exit-after without --port): no server, just wait.
    start_chatter(options);
    for (;;) ::pause();
  }
  std::optional<Server> server;
  try {
    server.emplace(options.host, *options.port);
  } catch (const std::exception& e) {
    err_line(options.name + ": " + e.what());
    exit_process(1);
  }
  state.port = server->port();
  out_line(options.name + " listening on " + options.host + ":" + std::to_string(server->port()));
  if (options.notify) notify_ready(options);
  start_chatter(options);
  server->serve_forever(state);
}
