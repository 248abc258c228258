#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// Everything the demo service does besides answering HTTP: signals, the
// crash and exit timers, readiness notification, a grandchild, and chatter
// on stdout/stderr for the log pipeline.

#include <sys/types.h>

#include <chrono>

#include "options.hpp"

namespace meshd::demo {

/// Forks a grandchild that sleeps forever in our process group, so tests
/// can check that stopping a service kills its whole group. Call it before
/// any thread exists: the child of a threaded process may only call
/// async-signal-safe functions. Returns the grandchild's pid.
pid_t spawn_grandchild();

/// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread
/// started later) and starts the one thread that receives them: it exits 0,
/// or with --ignore-sigterm only logs a SIGTERM.
void start_signal_thread(const Options& options);

/// --crash-after and --exit-after, both counted from `started`.
void start_exit_timers(const Options& options, std::chrono::steady_clock::time_point started);

/// --log-every and --flood-stdout.
void start_chatter(const Options& options);

/// Sends "READY=1" to $NOTIFY_SOCKET like sd_notify(3): a leading '@' names
/// a socket in the abstract namespace. Problems are logged, not fatal.
void notify_ready(const Options& options);

}  // namespace meshd::demo
