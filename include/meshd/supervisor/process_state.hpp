#pragma once

namespace meshd::supervisor {

/// Process state of an instance or a service (SPEC section 3).
enum class ProcessState {
  pending,   // waiting on dependencies
  starting,  // spawned, readiness not known yet
  running,
  backoff,  // waiting to restart
  stopping,
  stopped,
  exited,  // completed (exit 0 and not restarted)
  failed,  // gave up (max_restarts, or exit != 0 with policy never)
  // Not placed on this node (placement: singleton or nodes); it runs on
  // another node of the cluster, or nowhere yet.
  elsewhere,
};

const char* to_string(ProcessState state);

/// True while a process exists or is about to (starting, running, stopping).
inline bool has_process(ProcessState s) {
  return s == ProcessState::starting || s == ProcessState::running || s == ProcessState::stopping;
}

}  // namespace meshd::supervisor
